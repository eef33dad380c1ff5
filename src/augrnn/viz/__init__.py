"""Pictures of what models attend to, and how they learned."""

from augrnn.viz.figures import plot_attention, plot_learning_curve, used_slots

__all__ = ["plot_attention", "plot_learning_curve", "used_slots"]
