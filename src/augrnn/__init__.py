"""augrnn: memory- and attention-augmented recurrent networks in PyTorch."""

__version__ = "0.1.0"
