// The NTM recurrence (Graves et al. 2014), fused over a whole sequence on the CPU.
//
// Forward and backward of T steps of an NTM with an LSTM controller, written by hand so a
// time step costs three small matmuls and a few tight loops instead of ~100 autograd nodes.
// The Python side (augrnn/nn/fused_ntm.py) does everything that is not recurrent with
// ordinary autograd ops: the input projection of all steps at once, the output layer over
// all steps, and the weight gradients of those layers.
//
// One step t (state t -> state t+1), the same equations as augrnn.functional:
//   gates   = XG[t] + Z_t Wz^T            Z_t = [h_t (C), r_t (R*W)], gates in order i, f, g, o
//   c, h    = LSTM(gates, c_t)
//   raw     = b_hp + h_{t+1} W_hp^T       per head [key W, beta, gate, gamma, shift S]; then erase/add
//   write heads address M_t (content -> interpolate -> shift -> sharpen), then erase + add -> M_{t+1}
//   read heads address M_{t+1} and read r_{t+1}
//
// Layout: memory is stored transposed inside, [B, W, N] (word j of slot i at j * N + i), so every
// pass over it is vectorized along the N slots. Every per-step tensor is time-major with a leading T+1 (states) or T (step values).
// The backward pass walks the steps in reverse with the adjoints of the state; weight
// gradients of Wz and W_hp are formed once at the end from the stored per-step gradients.

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

struct Dims {
  int64_t T, B, C, N, W, R, H, S, P, A, Z;
};

// exp and log. For float, branch-free polynomial versions (Cephes, ~1 ulp) that the compiler
// vectorizes inside `omp simd` loops; libm's scalar calls are most of a step's time otherwise.
// For double (tests, gradcheck) the exact libm functions.
inline float fast_exp(float x) {
  const float big = 88.3762626647949f, small = -87.3365447504f;
  const bool zero = x < small;
  x = x > big ? big : (x < small ? small : x);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return zero ? 0.0f : p * scale;
}

// log of a positive normal float.
inline float fast_log(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float e = static_cast<float>(((bits >> 23) & 0xff) - 126);
  bits = (bits & 0x807fffff) | 0x3f000000;  // mantissa in [0.5, 1)
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1.0f : e;
  m = low ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += e * -2.12194440e-4f;
  y += -0.5f * z;
  return m + y + e * 0.693359375f;
}

inline double fast_exp(double x) { return std::exp(x); }
inline double fast_log(double x) { return std::log(x); }

template <typename T>
inline T sigmoid(T x) { return T(1) / (T(1) + fast_exp(-x)); }

// tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|)
template <typename T>
inline T fast_tanh(T x) {
  const T e = fast_exp(T(-2) * std::abs(x));
  const T t = (T(1) - e) / (T(1) + e);
  return x < T(0) ? -t : t;
}

// torch.nn.functional.softplus with beta=1, threshold=20.
template <typename T>
inline T softplus(T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }

template <typename T>
inline T softplus_grad(T x) { return x > T(20) ? T(1) : sigmoid(x); }

inline int64_t wrap(int64_t i, int64_t n) { int64_t r = i % n; return r < 0 ? r + n : r; }

// In-place max-subtracted softmax of v[0..n).
template <typename T>
inline void softmax_inplace(T* v, int64_t n) {
  T m = v[0];
#pragma omp simd reduction(max : m)
  for (int64_t i = 1; i < n; ++i) m = v[i] > m ? v[i] : m;
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    v[i] = fast_exp(v[i] - m);
    s += v[i];
  }
  const T inv = T(1) / s;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) v[i] *= inv;
}

// ext[q] = in((q - half) mod N) for q in [0, N + 2 half).
template <typename T>
inline void wrapped_copy(const T* in, T* ext, int64_t N, int64_t half) {
  if (N >= half) {  // no double wrap: two edges and a straight copy
    for (int64_t q = 0; q < half; ++q) ext[q] = in[N - half + q];
    for (int64_t i = 0; i < N; ++i) ext[half + i] = in[i];
    for (int64_t q = 0; q < half; ++q) ext[half + N + q] = in[q];
  } else {
    for (int64_t q = 0; q < N + 2 * half; ++q) ext[q] = in[wrap(q - half, N)];
  }
}

// Dot product of two contiguous rows (a vectorized reduction).
template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// out[j] = sum_i w[i] Mt[j * N + i] for j < W: the read of a transposed memory. Four columns
// at a time share the loads of w and run four independent reduction chains.
template <typename T>
inline void read_columns(const T* Mt, const T* w, T* out, int64_t N, int64_t W) {
  int64_t j = 0;
  for (; j + 4 <= W; j += 4) {
    const T *c0 = Mt + j * N, *c1 = c0 + N, *c2 = c1 + N, *c3 = c2 + N;
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t i = 0; i < N; ++i) {
      s0 += w[i] * c0[i];
      s1 += w[i] * c1[i];
      s2 += w[i] * c2[i];
      s3 += w[i] * c3[i];
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  for (; j < W; ++j) out[j] = dot(w, Mt + j * N, N);
}

// Circular convolution, eq. (8): out(i) = sum_s k_s in(i - (s - half)) mod N, through a
// wrapped copy ext[q] = in((q - half) mod N) of length N + 2 half (no modulo per tap).
template <typename T>
inline void circular_conv(const T* in, const T* k, T* out, T* ext, int64_t N, int64_t S) {
  const int64_t half = S / 2;
  wrapped_copy(in, ext, N, half);
  for (int64_t i = 0; i < N; ++i) out[i] = 0;
  for (int64_t s = 0; s < S; ++s) {
    const T ks = k[s];
    const T* src = ext + 2 * half - s;  // src[i] = in(i + half - s) = in(i - (s - half))
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) out[i] += ks * src[i];
  }
}

// Row norms sqrt(|M_i|^2 + eps) of a memory stored transposed, Mt[j * N + i] = M(i, j).
template <typename T>
inline void row_norms(const T* Mt, T* out, int64_t N, int64_t W, T eps) {
  for (int64_t i = 0; i < N; ++i) out[i] = 0;
  for (int64_t j = 0; j < W; ++j) {
    const T* col = Mt + j * N;
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) out[i] += col[i] * col[i];
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) out[i] = std::sqrt(out[i] + eps);
}

// out[i] = sum_j M(i, j) v[j] for a transposed memory (one axpy per column, vectorized over slots).
template <typename T>
inline void memory_times(const T* Mt, const T* v, T* out, int64_t N, int64_t W) {
  for (int64_t i = 0; i < N; ++i) out[i] = 0;
  for (int64_t j = 0; j < W; ++j) {
    const T* col = Mt + j * N;
    const T vj = v[j];
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) out[i] += col[i] * vj;
  }
}

// Activated head parameters, pointers into the step's ACT row.
template <typename T>
struct Head {
  const T* key;  // [W]
  T beta, gate, gamma;
  const T* shift;  // [S]
};

template <typename T>
inline Head<T> head_at(const T* act, const Dims& d, int64_t k) {
  const T* p = act + k * d.A;
  return Head<T>{p, p[d.W], p[d.W + 1], p[d.W + 2], p + d.W + 3};
}

// Addressing forward for one head, eqs. (5)-(9). Saves wc, wg, ws and the similarities K.
// have_dots: K already holds the dot products M_i . k (computed in the pass that wrote M).
template <typename T>
void address_forward(const T* M, const T* mn, const Head<T>& hd, const T* wprev, T* w, T* wc, T* wg,
                     T* ws, T* K, T* ext, const Dims& d, T eps, T tiny, bool have_dots = false) {
  const int64_t N = d.N, W = d.W, S = d.S;
  const T kn = std::sqrt(dot(hd.key, hd.key, W) + eps);
  if (!have_dots) memory_times(M, hd.key, K, N, W);  // K_i = M_i . k, divided below
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) {
    K[i] = K[i] / (kn * mn[i]);
    wc[i] = hd.beta * K[i];
  }
  softmax_inplace(wc, N);
  for (int64_t i = 0; i < N; ++i) wg[i] = hd.gate * wc[i] + (T(1) - hd.gate) * wprev[i];
  circular_conv(wg, hd.shift, ws, ext, N, S);
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) w[i] = hd.gamma * fast_log(ws[i] > tiny ? ws[i] : tiny);
  softmax_inplace(w, N);
}

// Outer-product terms folded into address_backward's pass over dM (saves a pass each):
// dM(i, j) <- dM(i, j) (1 - keep_w(i) keep_v(j)) before the head's own terms, and
// + add_w(i) add_v(j) after. Null pointers: no such term.
template <typename T>
struct Fold {
  const T* keep_w = nullptr;
  const T* keep_v = nullptr;
  const T* add_w = nullptr;
  const T* add_v = nullptr;
};

// Addressing backward for one head: from dw (gradient of the head's weighting) to the
// gradients of its activated parameters (dact, the head's slice), of the previous
// weighting (dwprev, overwritten) and of memory (added to dM). scratch: 3N.
template <typename T>
void address_backward(const T* M, const T* mn, const Head<T>& hd, const T* wprev, const T* w, const T* wc,
                      const T* wg, const T* ws, const T* K, const T* dw, T* dact, T* dwprev, T* dM,
                      T* scratch, const Dims& d, T eps, T tiny, const Fold<T>& fold = Fold<T>{}) {
  const int64_t N = d.N, W = d.W, S = d.S, half = d.S / 2;
  T* dws = scratch;
  T* dwg = scratch + N;
  T* dz = scratch + 2 * N;
  T* ext = scratch + 3 * N;        // N + S - 1
  T* rshift = scratch + 4 * N + S;  // S
  // sharpen: w = softmax(gamma * log max(ws, tiny))
  const T wdw = dot(w, dw, N);
  T dgamma = 0;
#pragma omp simd reduction(+ : dgamma)
  for (int64_t i = 0; i < N; ++i) {
    const T dy = w[i] * (dw[i] - wdw);
    const bool passes = ws[i] >= tiny;  // clamp_min passes the gradient where ws >= tiny
    const T lw = fast_log(passes ? ws[i] : tiny);
    dgamma += dy * lw;
    dws[i] = passes ? hd.gamma * dy / ws[i] : T(0);
  }
  // circular shift: ws(i) = sum_s shift_s wg(i - (s - half)), so dwg is the same
  // convolution of dws with the reversed kernel, and dshift_s = sum_i dws(i) wg(i - (s - half)).
  for (int64_t s = 0; s < S; ++s) rshift[s] = hd.shift[S - 1 - s];
  circular_conv(dws, rshift, dwg, ext, N, S);
  wrapped_copy(wg, ext, N, half);
  T* dshift = dact + W + 3;
  for (int64_t s = 0; s < S; ++s) {
    const T* src = ext + 2 * half - s;
    T acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < N; ++i) acc += dws[i] * src[i];
    dshift[s] = acc;
  }
  // interpolation: wg = g wc + (1 - g) wprev
  T dgate = 0, wcdwc = 0;
#pragma omp simd reduction(+ : dgate, wcdwc)
  for (int64_t i = 0; i < N; ++i) {
    dgate += dwg[i] * (wc[i] - wprev[i]);
    dwprev[i] = (T(1) - hd.gate) * dwg[i];
    wcdwc += wc[i] * hd.gate * dwg[i];
  }
  // content: wc = softmax(beta K)
  T dbeta = 0;
#pragma omp simd reduction(+ : dbeta)
  for (int64_t i = 0; i < N; ++i) {
    dz[i] = wc[i] * (hd.gate * dwg[i] - wcdwc);
    dbeta += dz[i] * K[i];
  }
  // cosine: K_i = (M_i . k) / (kn mn_i)
  const T kn = std::sqrt(dot(hd.key, hd.key, W) + eps);
  T* dkey = dact;
  T* ca = dws;  // reuse: a_i = dK_i / (kn mn_i), the gradient of the dot product M_i . k
  T* cb = dwg;  // b_i = -dK_i K_i / mn_i^2, the gradient of mn_i, over mn_i
  T dkn = 0;
#pragma omp simd reduction(+ : dkn)
  for (int64_t i = 0; i < N; ++i) {
    const T dK = hd.beta * dz[i];
    ca[i] = dK / (kn * mn[i]);
    cb[i] = -dK * K[i] / (mn[i] * mn[i]);
    dkn -= dK * K[i] / kn;
  }
  // One pass over memory: dM's column update and the key gradient's dot product ca . M_j.
  for (int64_t j = 0; j < W; ++j) {
    const T* col = M + j * N;
    T* dcol = dM + j * N;
    const T kj = hd.key[j];
    T acc = 0;
    if (fold.keep_w != nullptr) {
      const T vj = fold.keep_v[j];
      const T* kw = fold.keep_w;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < N; ++i) {
        dcol[i] = dcol[i] * (T(1) - kw[i] * vj) + ca[i] * kj + cb[i] * col[i];
        acc += ca[i] * col[i];
      }
    } else if (fold.add_w != nullptr) {
      const T vj = fold.add_v[j];
      const T* aw = fold.add_w;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < N; ++i) {
        dcol[i] += ca[i] * kj + cb[i] * col[i] + aw[i] * vj;
        acc += ca[i] * col[i];
      }
    } else {
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < N; ++i) {
        dcol[i] += ca[i] * kj + cb[i] * col[i];
        acc += ca[i] * col[i];
      }
    }
    dkey[j] = acc + dkn * kj / kn;
  }
  dact[W] = dbeta;
  dact[W + 1] = dgate;
  dact[W + 2] = dgamma;
}

// raw -> activated head parameters (one batch row of P values).
template <typename T>
void activate(const T* raw, T* act, const Dims& d) {
  for (int64_t k = 0; k < d.R + d.H; ++k) {
    const T* r = raw + k * d.A;
    T* a = act + k * d.A;
    for (int64_t j = 0; j < d.W; ++j) a[j] = r[j];
    a[d.W] = softplus(r[d.W]);
    a[d.W + 1] = sigmoid(r[d.W + 1]);
    a[d.W + 2] = T(1) + softplus(r[d.W + 2]);
    for (int64_t s = 0; s < d.S; ++s) a[d.W + 3 + s] = r[d.W + 3 + s];
    softmax_inplace(a + d.W + 3, d.S);
  }
  const int64_t off = (d.R + d.H) * d.A;
  for (int64_t h = 0; h < d.H; ++h) {
    const T* r = raw + off + h * 2 * d.W;
    T* a = act + off + h * 2 * d.W;
    for (int64_t j = 0; j < d.W; ++j) a[j] = sigmoid(r[j]);
    for (int64_t j = 0; j < d.W; ++j) a[d.W + j] = fast_tanh(r[d.W + j]);
  }
}

// d(activated) -> d(raw), in place on dact.
template <typename T>
void activate_backward(const T* raw, const T* act, T* dact, const Dims& d) {
  for (int64_t k = 0; k < d.R + d.H; ++k) {
    const T* r = raw + k * d.A;
    const T* a = act + k * d.A;
    T* g = dact + k * d.A;
    g[d.W] *= softplus_grad(r[d.W]);
    g[d.W + 1] *= a[d.W + 1] * (T(1) - a[d.W + 1]);
    g[d.W + 2] *= softplus_grad(r[d.W + 2]);
    const T* s = a + d.W + 3;
    T* gs = g + d.W + 3;
    T sds = 0;
    for (int64_t i = 0; i < d.S; ++i) sds += s[i] * gs[i];
    for (int64_t i = 0; i < d.S; ++i) gs[i] = s[i] * (gs[i] - sds);
  }
  const int64_t off = (d.R + d.H) * d.A;
  for (int64_t h = 0; h < d.H; ++h) {
    const T* a = act + off + h * 2 * d.W;
    T* g = dact + off + h * 2 * d.W;
    for (int64_t j = 0; j < d.W; ++j) g[j] *= a[j] * (T(1) - a[j]);
    for (int64_t j = 0; j < d.W; ++j) g[d.W + j] *= T(1) - a[d.W + j] * a[d.W + j];
  }
}

// Pointer to step t of a time-major tensor (no Tensor objects made per step).
template <typename T>
inline T* at_step(const at::Tensor& x, int64_t t) { return x.data_ptr<T>() + t * x.stride(0); }

Dims make_dims(int64_t T, int64_t B, int64_t C, int64_t N, int64_t W, int64_t R, int64_t H, int64_t S) {
  Dims d;
  d.T = T;
  d.B = B;
  d.C = C;
  d.N = N;
  d.W = W;
  d.R = R;
  d.H = H;
  d.S = S;
  d.A = W + 3 + S;
  d.P = (R + H) * d.A + H * 2 * W;
  d.Z = R * W + C;
  return d;
}

// dst[c * rows + r] = src[r * cols + c]: contiguous stores, strided loads, in blocks of 64 source
// rows so the loads stay in L1 across the columns.
template <typename T>
void transpose_copy(const T* src, T* dst, int64_t rows, int64_t cols) {
  constexpr int64_t block = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t r1 = std::min(r0 + block, rows);
    for (int64_t c = 0; c < cols; ++c) {
      T* out = dst + c * rows;
      const T* in = src + c;
#pragma omp simd
      for (int64_t r = r0; r < r1; ++r) out[r] = in[r * cols];
    }
  }
}

// Transpose the last two dims of a contiguous [..., rows, cols] tensor into `out`, a contiguous
// [..., cols, rows] tensor (or a new one).
at::Tensor transposed(const at::Tensor& x, at::Tensor out = at::Tensor()) {
  const int64_t rows = x.size(-2), cols = x.size(-1), batch = x.numel() / std::max<int64_t>(rows * cols, 1);
  if (!out.defined()) {
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    out = at::empty(shape, x.options());
  }
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "transposed", [&] {
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    for (int64_t b = 0; b < batch; ++b) transpose_copy(src + b * rows * cols, dst + b * rows * cols, rows, cols);
  });
  return out;
}

// A [T+1 or T, ...] buffer whose first dim is allocated in multiples of 8 steps: sequences of
// nearby lengths then ask the allocator for the same sizes, and freed blocks are reused
// instead of fresh pages (page faults cost more than the arithmetic at these sizes).
at::Tensor step_buffer(int64_t steps, at::IntArrayRef rest, const at::TensorOptions& opts) {
  std::vector<int64_t> shape{(steps + 7) / 8 * 8};
  shape.insert(shape.end(), rest.begin(), rest.end());
  return at::empty(shape, opts).narrow(0, 0, steps);
}

template <typename T>
void forward_impl(const Dims& d, const at::Tensor& xg, const at::Tensor& wz_t, const at::Tensor& whp_t,
                  const at::Tensor& b_hp, at::Tensor& ZS, at::Tensor& CS, at::Tensor& MEM, at::Tensor& WR,
                  at::Tensor& WW, at::Tensor& GATES, at::Tensor& RAW, at::Tensor& ACT, at::Tensor& MN,
                  at::Tensor& SAVE, double eps_d) {
  const T eps = T(eps_d), tiny = std::numeric_limits<T>::min();
  const int64_t B = d.B, C = d.C, N = d.N, W = d.W, R = d.R, H = d.H, Z = d.Z, P = d.P;
  const int64_t heads = R + H;
  const int64_t RW = R * W;
  // wz_t [Z, 4C] and whp_t [C, P] arrive transposed and contiguous: the per-step matmuls are
  // then plain row-major products, which MKL runs ~1.5x faster at these sizes.
  // The constant parts first, in two bulk copies; each step then adds its product in place.
  GATES.copy_(xg);
  RAW.copy_(b_hp.expand_as(RAW));
  const std::vector<at::Tensor> zs_t = ZS.unbind(0);
  std::vector<at::Tensor> gates_t = GATES.unbind(0), raw_t = RAW.unbind(0);
  // MN[0]: norms of the initial memory.
  {
    T* mem0 = MEM.data_ptr<T>();
    T* mn0 = MN.data_ptr<T>();
    for (int64_t b = 0; b < B; ++b) row_norms(mem0 + b * N * W, mn0 + b * N, N, W, eps);
  }
  for (int64_t t = 0; t < d.T; ++t) {
    gates_t[t].addmm_(zs_t[t], wz_t);
    T* g = at_step<T>(GATES, t);
    const T* c_prev = at_step<T>(CS, t);
    T* c_next = at_step<T>(CS, t + 1);
    T* z_next = at_step<T>(ZS, t + 1);
    at::parallel_for(0, B, 8, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        T* gb = g + b * 4 * C;
#pragma omp simd
        for (int64_t j = 0; j < C; ++j) {
          const T i_ = sigmoid(gb[j]), f_ = sigmoid(gb[C + j]), g_ = fast_tanh(gb[2 * C + j]),
                  o_ = sigmoid(gb[3 * C + j]);
          gb[j] = i_;
          gb[C + j] = f_;
          gb[2 * C + j] = g_;
          gb[3 * C + j] = o_;
          const T c = f_ * c_prev[b * C + j] + i_ * g_;
          c_next[b * C + j] = c;
          z_next[b * Z + j] = o_ * fast_tanh(c);
        }
      }
    });
    raw_t[t].addmm_(zs_t[t + 1].narrow(1, 0, C), whp_t);
    const T* raw_p = at_step<T>(RAW, t);
    T* act_p = at_step<T>(ACT, t);
    const T* mem_prev = at_step<T>(MEM, t);
    T* mem_next = at_step<T>(MEM, t + 1);
    const T* mn_prev = at_step<T>(MN, t);
    T* mn_next = at_step<T>(MN, t + 1);
    const T* wr_prev = at_step<T>(WR, t);
    T* wr_next = at_step<T>(WR, t + 1);
    const T* ww_prev = at_step<T>(WW, t);
    T* ww_next = at_step<T>(WW, t + 1);
    T* save = at_step<T>(SAVE, t);  // [B, heads, 4, N]: wc, wg, ws, K
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> ext(N + d.S);
      for (int64_t b = begin; b < end; ++b) {
        const T* rawb = raw_p + b * P;
        T* actb = act_p + b * P;
        activate(rawb, actb, d);
        const T* Mp = mem_prev + b * N * W;
        T* Mn = mem_next + b * N * W;
        T* sv = save + b * heads * 4 * N;
        for (int64_t h = 0; h < H; ++h) {
          T* s = sv + (R + h) * 4 * N;
          address_forward(Mp, mn_prev + b * N, head_at(actb, d, R + h), ww_prev + (b * H + h) * N,
                          ww_next + (b * H + h) * N, s, s + N, s + 2 * N, s + 3 * N, ext.data(), d, eps,
                          tiny);
        }
        // write, sec. 3.2: M(i) <- M(i) * prod_h (1 - w_h(i) e_h) + sum_h w_h(i) a_h
        const T* wa = actb + heads * d.A;  // [H, 2W]: erase, add
        const bool fused_write = H == 1 && R > 0;
        if (H == 0) {
          for (int64_t i = 0; i < N * W; ++i) Mn[i] = Mp[i];
        } else if (fused_write) {
          // One pass: the write, the new memory's squared row norms, and the first read
          // head's dot products M_{t+1}(i) . key (its addressing then skips that pass).
          const T* e = wa;
          const T* a = wa + W;
          const T* w = ww_next + b * N;
          T* nrm = mn_next + b * N;
          T* dots = sv + 3 * N;  // read head 0's K
          const T* key = head_at(actb, d, 0).key;
          for (int64_t i = 0; i < N; ++i) nrm[i] = dots[i] = 0;
          for (int64_t j = 0; j < W; ++j) {
            const T ej = e[j], aj = a[j], kj = key[j];
            const T* mp = Mp + j * N;
            T* mn = Mn + j * N;
#pragma omp simd
            for (int64_t i = 0; i < N; ++i) {
              const T m = mp[i] * (T(1) - w[i] * ej) + w[i] * aj;
              mn[i] = m;
              nrm[i] += m * m;
              dots[i] += m * kj;
            }
          }
#pragma omp simd
          for (int64_t i = 0; i < N; ++i) nrm[i] = std::sqrt(nrm[i] + eps);
        }
        for (int64_t j = 0; j < W && H > 0 && !fused_write; ++j) {
          for (int64_t i = 0; i < N; ++i) {
            T keep = 1, added = 0;
            for (int64_t h = 0; h < H; ++h) {
              const T wi = ww_next[(b * H + h) * N + i];
              keep *= T(1) - wi * wa[h * 2 * W + j];
              added += wi * wa[h * 2 * W + W + j];
            }
            Mn[j * N + i] = Mp[j * N + i] * keep + added;
          }
        }
        T* mnb = mn_next + b * N;
        if (!fused_write) row_norms(Mn, mnb, N, W, eps);
        T* reads = z_next + b * Z + C;
        for (int64_t k = 0; k < R; ++k) {
          T* s = sv + k * 4 * N;
          T* w = wr_next + (b * R + k) * N;
          address_forward(Mn, mnb, head_at(actb, d, k), wr_prev + (b * R + k) * N, w, s, s + N, s + 2 * N,
                          s + 3 * N, ext.data(), d, eps, tiny, fused_write && k == 0);
          T* r = reads + k * W;
          read_columns(Mn, w, r, N, W);
        }
      }
    });
  }
}

template <typename T>
void backward_impl(const Dims& d, const at::Tensor& wz, const at::Tensor& w_hp, const at::Tensor& ZS,
                   const at::Tensor& CS, const at::Tensor& MEM, const at::Tensor& WR, const at::Tensor& WW,
                   const at::Tensor& GATES, const at::Tensor& RAW, const at::Tensor& ACT, const at::Tensor& MN,
                   const at::Tensor& SAVE, const c10::optional<at::Tensor>& gZS, const c10::optional<at::Tensor>& gCS,
                   const c10::optional<at::Tensor>& gMEM, const c10::optional<at::Tensor>& gWR,
                   const c10::optional<at::Tensor>& gWW, at::Tensor& DG, at::Tensor& DRAW, at::Tensor& dZ,
                   at::Tensor& dC, at::Tensor& dM, at::Tensor& dWR, at::Tensor& dWW, double eps_d) {
  const T eps = T(eps_d), tiny = std::numeric_limits<T>::min();
  const int64_t B = d.B, C = d.C, N = d.N, W = d.W, R = d.R, H = d.H, Z = d.Z, P = d.P;
  const int64_t heads = R + H, RW = R * W;
  auto add_grad = [](at::Tensor& acc, const c10::optional<at::Tensor>& g, int64_t t) {
    if (!g.has_value() || !g->defined()) return;
    T* a = acc.data_ptr<T>();
    const T* src = at_step<T>(*g, t);
    const int64_t n = acc.numel();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) a[i] += src[i];
  };
  // adjoints of state T
  dZ.zero_(); dC.zero_(); dM.zero_(); dWR.zero_(); dWW.zero_();
  add_grad(dZ, gZS, d.T); add_grad(dC, gCS, d.T); add_grad(dM, gMEM, d.T);
  add_grad(dWR, gWR, d.T); add_grad(dWW, gWW, d.T);
  at::Tensor dWRprev = at::empty_like(dWR), dWWprev = at::empty_like(dWW);
  const int64_t scratch_per_b = 4 * N + 2 * d.S;  // address_backward's scratch
  at::Tensor scratch = at::empty({B, scratch_per_b}, dM.options());
  const std::vector<at::Tensor> draw_t = DRAW.unbind(0), dg_t = DG.unbind(0);
  at::Tensor dh = dZ.narrow(1, 0, C);
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const T* zs_next = at_step<T>(ZS, t + 1);
    const T* mem_prev = at_step<T>(MEM, t);
    const T* mem_next = at_step<T>(MEM, t + 1);
    const T* mn_prev = at_step<T>(MN, t);
    const T* mn_next = at_step<T>(MN, t + 1);
    const T* wr_prev = at_step<T>(WR, t);
    const T* wr_next = at_step<T>(WR, t + 1);
    const T* ww_prev = at_step<T>(WW, t);
    const T* ww_next = at_step<T>(WW, t + 1);
    const T* raw_p = at_step<T>(RAW, t);
    const T* act_p = at_step<T>(ACT, t);
    const T* save = at_step<T>(SAVE, t);
    T* draw_p = at_step<T>(DRAW, t);
    T* dz_p = dZ.data_ptr<T>();
    T* dM_p = dM.data_ptr<T>();
    T* dwr_p = dWR.data_ptr<T>();
    T* dww_p = dWW.data_ptr<T>();
    T* dwrprev_p = dWRprev.data_ptr<T>();
    T* dwwprev_p = dWWprev.data_ptr<T>();
    T* scratch_p = scratch.data_ptr<T>();
    at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const T* actb = act_p + b * P;
        T* dactb = draw_p + b * P;
        for (int64_t p = 0; p < P; ++p) dactb[p] = 0;
        const T* Mp = mem_prev + b * N * W;
        const T* Mn = mem_next + b * N * W;
        T* dMb = dM_p + b * N * W;
        const T* sv = save + b * heads * 4 * N;
        T* scr = scratch_p + b * scratch_per_b;
        const T* dr = dz_p + b * Z + C;  // adjoint of r_{t+1}
        // reads: r_k = sum_i w_k(i) M(i)
        for (int64_t k = 0; k < R; ++k) {
          const T* w = wr_next + (b * R + k) * N;
          T* dw = dwr_p + (b * R + k) * N;
          const T* drk = dr + k * W;
          for (int64_t j = 0; j < W; ++j) {  // dw(i) += M(i) . dr; its dM term is folded below
            const T* col = Mn + j * N;
            const T drj = drk[j];
#pragma omp simd
            for (int64_t i = 0; i < N; ++i) dw[i] += col[i] * drj;
          }
          const T* s = sv + k * 4 * N;
          Fold<T> fold;
          fold.add_w = w;  // dM(i, j) += w(i) dr(j)
          fold.add_v = drk;
          address_backward(Mn, mn_next + b * N, head_at(actb, d, k), wr_prev + (b * R + k) * N, w, s, s + N,
                           s + 2 * N, s + 3 * N, dw, dactb + k * d.A, dwrprev_p + (b * R + k) * N, dMb, scr, d,
                           eps, tiny, fold);
        }
        // write: M_{t+1} = M_t * keep + added; dM becomes the adjoint of M_t in place
        if (H > 0) {
          const T* wa = actb + heads * d.A;
          T* dwa = dactb + heads * d.A;
          if (H == 1) {  // M_{t+1}(i) = M_t(i) (1 - w_i e) + w_i a
            const T* e = wa;
            const T* a = wa + W;
            T* de = dwa;
            T* da = dwa + W;
            T* dww = dww_p + b * N;
            const T* w = ww_next + b * N;
            for (int64_t j = 0; j < W; ++j) {
              const T* m = Mp + j * N;
              T* g = dMb + j * N;
              const T ej = e[j], aj = a[j];
              T sde = 0, sda = 0;
#pragma omp simd reduction(+ : sde, sda)
              for (int64_t i = 0; i < N; ++i) {  // g *= 1 - w e is folded into the address pass below
                dww[i] += g[i] * (aj - m[i] * ej);
                sde += g[i] * m[i] * w[i];
                sda += g[i] * w[i];
              }
              de[j] -= sde;
              da[j] += sda;
            }
          }
          for (int64_t j = 0; j < W && H > 1; ++j) {
            for (int64_t i = 0; i < N; ++i) {
              const T g = dMb[j * N + i];
              const T m = Mp[j * N + i];
              T keep = 1;
              for (int64_t h = 0; h < H; ++h) keep *= T(1) - ww_next[(b * H + h) * N + i] * wa[h * 2 * W + j];
              for (int64_t h = 0; h < H; ++h) {
                const T wi = ww_next[(b * H + h) * N + i];
                const T e = wa[h * 2 * W + j], a = wa[h * 2 * W + W + j];
                T others = 1;  // prod over the other heads, without dividing by a possible 0
                for (int64_t h2 = 0; h2 < H; ++h2)
                  if (h2 != h) others *= T(1) - ww_next[(b * H + h2) * N + i] * wa[h2 * 2 * W + j];
                dww_p[(b * H + h) * N + i] += g * (a - m * e * others);
                dwa[h * 2 * W + j] -= g * m * wi * others;
                dwa[h * 2 * W + W + j] += g * wi;
              }
              dMb[j * N + i] = g * keep;
            }
          }
          for (int64_t h = 0; h < H; ++h) {
            const T* s = sv + (R + h) * 4 * N;
            Fold<T> fold;
            if (H == 1) {  // the adjoint of M_t is dM (1 - w e): applied in this head's pass
              fold.keep_w = ww_next + b * N;
              fold.keep_v = wa;
            }
            address_backward(Mp, mn_prev + b * N, head_at(actb, d, R + h), ww_prev + (b * H + h) * N,
                             ww_next + (b * H + h) * N, s, s + N, s + 2 * N, s + 3 * N, dww_p + (b * H + h) * N,
                             dactb + (R + h) * d.A, dwwprev_p + (b * H + h) * N, dMb, scr, d, eps, tiny, fold);
          }
        }
        activate_backward(raw_p + b * P, actb, dactb, d);
      }
    });
    // dh_{t+1} += draw W_hp, then the LSTM cell backward
    dh.addmm_(draw_t[t], w_hp);
    {
      const T* g = at_step<T>(GATES, t);
      const T* c_prev = at_step<T>(CS, t);
      const T* c_next = at_step<T>(CS, t + 1);
      T* dg = at_step<T>(DG, t);
      T* dc = dC.data_ptr<T>();
      at::parallel_for(0, B, 8, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
          const T* gb = g + b * 4 * C;
          T* dgb = dg + b * 4 * C;
#pragma omp simd
          for (int64_t j = 0; j < C; ++j) {
            const T i_ = gb[j], f_ = gb[C + j], g_ = gb[2 * C + j], o_ = gb[3 * C + j];
            const T tc = fast_tanh(c_next[b * C + j]);
            const T dhj = dz_p[b * Z + j];
            const T dct = dc[b * C + j] + dhj * o_ * (T(1) - tc * tc);
            dgb[j] = dct * g_ * i_ * (T(1) - i_);
            dgb[C + j] = dct * c_prev[b * C + j] * f_ * (T(1) - f_);
            dgb[2 * C + j] = dct * i_ * (T(1) - g_ * g_);
            dgb[3 * C + j] = dhj * tc * o_ * (T(1) - o_);
            dc[b * C + j] = dct * f_;
          }
        }
      });
    }
    (void)zs_next;
    at::mm_out(dZ, dg_t[t], wz);
    add_grad(dZ, gZS, t);
    add_grad(dC, gCS, t);
    add_grad(dM, gMEM, t);
    std::swap(dWR, dWRprev);
    std::swap(dWW, dWWprev);
    add_grad(dWR, gWR, t);
    add_grad(dWW, gWW, t);
  }
}

void check_input(const at::Tensor& x, const char* name, const at::Tensor& like, int64_t dim) {
  TORCH_CHECK(x.device().is_cpu(), "ntm_sequence: ", name, " must be a CPU tensor");
  TORCH_CHECK(x.scalar_type() == like.scalar_type(), "ntm_sequence: ", name, " has dtype ", x.scalar_type(),
              ", expected ", like.scalar_type());
  TORCH_CHECK(x.dim() == dim, "ntm_sequence: ", name, " must have ", dim, " dims, got ", x.dim());
  TORCH_CHECK(x.is_contiguous(), "ntm_sequence: ", name, " must be contiguous");
}

}  // namespace

// Returns [ZS, CS, MEM, WR, WW, wz, GATES, RAW, ACT, MN, SAVE]; the first five are the states
// (T+1 leading; ZS holds [h, r] per step), the rest are saved for backward.
std::vector<at::Tensor> ntm_forward(const at::Tensor& xg, const at::Tensor& w_ih, const at::Tensor& w_hh,
                                    const at::Tensor& w_hp,
                                    const at::Tensor& b_hp, const at::Tensor& memory0, const at::Tensor& wr0,
                                    const at::Tensor& ww0, const at::Tensor& r0, const at::Tensor& h0,
                                    const at::Tensor& c0, int64_t shift_size, double eps) {
  check_input(xg, "xg", xg, 3);
  check_input(w_ih, "w_ih", xg, 2);
  check_input(w_hh, "w_hh", xg, 2);
  check_input(w_hp, "w_hp", xg, 2);
  check_input(b_hp, "b_hp", xg, 1);
  check_input(memory0, "memory0", xg, 3);
  check_input(wr0, "wr0", xg, 3);
  check_input(ww0, "ww0", xg, 3);
  check_input(r0, "r0", xg, 3);
  check_input(h0, "h0", xg, 2);
  check_input(c0, "c0", xg, 2);
  TORCH_CHECK(shift_size % 2 == 1, "ntm_sequence: shift_size must be odd");
  const int64_t R = wr0.size(1), H = ww0.size(1), C = h0.size(1);
  const Dims d = make_dims(xg.size(0), xg.size(1), C, memory0.size(1), memory0.size(2), R, H, shift_size);
  TORCH_CHECK(xg.size(2) == 4 * C && w_hh.size(0) == 4 * C && w_hh.size(1) == C && w_ih.size(0) == 4 * C &&
                  w_ih.size(1) >= R * d.W,
              "ntm_sequence: bad w_ih/w_hh/xg shape");
  // The recurrent weights act on Z = [h, r]: W_hh, then the read-vector columns of W_ih.
  const at::Tensor wz = at::cat({w_hh, w_ih.narrow(1, w_ih.size(1) - R * d.W, R * d.W)}, 1);
  TORCH_CHECK(w_hp.size(0) == d.P && w_hp.size(1) == C && b_hp.size(0) == d.P, "ntm_sequence: bad w_hp shape");
  auto opts = xg.options();
  const int64_t T = d.T, B = d.B;
  const at::Tensor wz_t = transposed(wz), whp_t = transposed(w_hp);
  at::Tensor ZS = step_buffer(T + 1, {B, d.Z}, opts);
  ZS[0].narrow(1, 0, C).copy_(h0);
  ZS[0].narrow(1, C, R * d.W).copy_(r0.reshape({B, R * d.W}));
  at::Tensor CS = step_buffer(T + 1, {B, C}, opts);
  CS[0].copy_(c0);
  at::Tensor MEM = step_buffer(T + 1, {B, d.W, d.N}, opts);  // transposed memory
  transposed(memory0, MEM[0]);
  at::Tensor WR = step_buffer(T + 1, {B, R, d.N}, opts);
  WR[0].copy_(wr0);
  at::Tensor WW = step_buffer(T + 1, {B, H, d.N}, opts);
  WW[0].copy_(ww0);
  at::Tensor GATES = step_buffer(T, {B, 4 * C}, opts);
  at::Tensor RAW = step_buffer(T, {B, d.P}, opts);
  at::Tensor ACT = step_buffer(T, {B, d.P}, opts);
  at::Tensor MN = step_buffer(T + 1, {B, d.N}, opts);
  at::Tensor SAVE = step_buffer(T, {B, R + H, 4, d.N}, opts);
  AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "ntm_forward", [&] {
    forward_impl<scalar_t>(d, xg, wz_t, whp_t, b_hp, ZS, CS, MEM, WR, WW, GATES, RAW, ACT, MN, SAVE, eps);
  });
  return {ZS, CS, MEM, WR, WW, wz, GATES, RAW, ACT, MN, SAVE};
}

// Returns [dXG, dW_ih (read-vector columns only; the input columns get theirs through XG),
// dW_hh, dW_hp, db_hp, dmemory0 (undefined = None unless need_memory0_grad), dwr0, dww0, dr0, dh0, dc0].
std::vector<at::Tensor> ntm_backward(int64_t input_size, const at::Tensor& wz, const at::Tensor& w_hp,
                                     const at::Tensor& ZS,
                                     const at::Tensor& CS, const at::Tensor& MEM, const at::Tensor& WR,
                                     const at::Tensor& WW, const at::Tensor& GATES, const at::Tensor& RAW,
                                     const at::Tensor& ACT, const at::Tensor& MN, const at::Tensor& SAVE,
                                     const c10::optional<at::Tensor>& gZS, const c10::optional<at::Tensor>& gCS,
                                     const c10::optional<at::Tensor>& gMEM, const c10::optional<at::Tensor>& gWR,
                                     const c10::optional<at::Tensor>& gWW, int64_t shift_size, double eps,
                                     bool need_memory0_grad) {
  const int64_t T = GATES.size(0), B = GATES.size(1), C = CS.size(2);
  const int64_t R = WR.size(2), H = WW.size(2);
  const Dims d = make_dims(T, B, C, MEM.size(3), MEM.size(2), R, H, shift_size);
  auto opts = ZS.options();
  auto contiguous = [](const c10::optional<at::Tensor>& g) -> c10::optional<at::Tensor> {
    if (g.has_value() && g->defined()) return g->contiguous();
    return g;
  };
  at::Tensor DG = step_buffer(T, {B, 4 * C}, opts);
  at::Tensor DRAW = step_buffer(T, {B, d.P}, opts);
  at::Tensor dZ = at::empty({B, d.Z}, opts);
  at::Tensor dC = at::empty({B, C}, opts);
  at::Tensor dM = at::empty({B, d.W, d.N}, opts);
  at::Tensor dWR = at::empty({B, R, d.N}, opts);
  at::Tensor dWW = at::empty({B, H, d.N}, opts);
  AT_DISPATCH_FLOATING_TYPES(ZS.scalar_type(), "ntm_backward", [&] {
    backward_impl<scalar_t>(d, wz, w_hp, ZS, CS, MEM, WR, WW, GATES, RAW, ACT, MN, SAVE, contiguous(gZS),
                            contiguous(gCS), contiguous(gMEM), contiguous(gWR), contiguous(gWW), DG, DRAW, dZ, dC,
                            dM, dWR, dWW, eps);
  });
  // weight gradients, once for all steps
  at::Tensor dWz = at::mm(DG.reshape({T * B, 4 * C}).t(), ZS.narrow(0, 0, T).reshape({T * B, d.Z}));
  at::Tensor h_all = ZS.narrow(0, 1, T).narrow(2, 0, C).reshape({T * B, C});
  at::Tensor dWhp = at::mm(DRAW.reshape({T * B, d.P}).t(), h_all);
  at::Tensor dbhp = DRAW.sum({0, 1});
  at::Tensor dr0 = dZ.narrow(1, C, R * d.W).reshape({B, R, d.W}).clone();
  at::Tensor dh0 = dZ.narrow(1, 0, C).clone();
  at::Tensor dWih = at::zeros({4 * C, input_size + R * d.W}, opts);
  dWih.narrow(1, input_size, R * d.W).copy_(dWz.narrow(1, C, R * d.W));
  return {DG, dWih, dWz.narrow(1, 0, C).contiguous(), dWhp, dbhp, need_memory0_grad ? transposed(dM) : at::Tensor(), dWR, dWW, dr0, dh0, dC};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &ntm_forward, "NTM sequence forward (CPU)");
  m.def("backward", &ntm_backward, "NTM sequence backward (CPU)");
}
