#include "inference/winograd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "config.h"
#include "efficientad/errors.h"

#if EFFICIENTAD_HAVE_ONEDNN
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace efficientad::detail {

namespace {

// Evaluation matrix of polynomials of `degree_bound` coefficients at the points, infinity last (it picks the
// leading coefficient). alpha x degree_bound, row-major.
std::vector<double> evaluation_matrix(const std::vector<double>& points, int degree_bound) {
  const size_t alpha = points.size() + 1;
  std::vector<double> v(alpha * size_t(degree_bound), 0.0);
  for (size_t j = 0; j < points.size(); ++j) {
    double power = 1.0;
    for (int k = 0; k < degree_bound; ++k, power *= points[j]) v[j * size_t(degree_bound) + size_t(k)] = power;
  }
  v[(alpha - 1) * size_t(degree_bound) + size_t(degree_bound - 1)] = 1.0;
  return v;
}

// Inverse of an n x n matrix by Gauss-Jordan elimination with partial pivoting (n <= 8, well conditioned).
std::vector<double> inverse(std::vector<double> a, size_t n) {
  std::vector<double> inv(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t row = col + 1; row < n; ++row) {
      if (std::fabs(a[row * n + col]) > std::fabs(a[pivot * n + col])) pivot = row;
    }
    for (size_t k = 0; k < n; ++k) {
      std::swap(a[col * n + k], a[pivot * n + k]);
      std::swap(inv[col * n + k], inv[pivot * n + k]);
    }
    const double d = a[col * n + col];
    for (size_t k = 0; k < n; ++k) a[col * n + k] /= d, inv[col * n + k] /= d;
    for (size_t row = 0; row < n; ++row) {
      const double f = a[row * n + col];
      if (row == col || f == 0.0) continue;
      for (size_t k = 0; k < n; ++k) a[row * n + k] -= f * a[col * n + k], inv[row * n + k] -= f * inv[col * n + k];
    }
  }
  return inv;
}

}  // namespace

// Linear convolution s = h * g (h of m, g of r coefficients) is V^-1 [(Vm h) . (Vr g)] with V, Vm, Vr evaluating
// at the points. The correlation y = C^T d, C being the matrix of h -> s, is therefore
// Vm^T [(Vr g) . (V^-T d)]: AT = Vm^T, G = Vr, BT = V^-T.
WinogradMatrices winograd_matrices(int m, int r) {
  static const double kPoints[] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};
  const int alpha = m + r - 1;
  if (m < 1 || r < 2 || alpha > int(std::size(kPoints)) + 1) {
    throw InvalidArgument("Winograd F(" + std::to_string(m) + ", " + std::to_string(r) +
                          ") is not supported: needs m >= 1, r >= 2 and m + r - 1 <= 8");
  }
  const std::vector<double> points(kPoints, kPoints + alpha - 1);
  WinogradMatrices w{m, r, alpha, {}, evaluation_matrix(points, r), {}};
  const std::vector<double> vm = evaluation_matrix(points, m);
  const auto a = size_t(alpha);
  w.at.resize(size_t(m) * a);
  for (size_t j = 0; j < a; ++j) {
    for (size_t i = 0; i < size_t(m); ++i) w.at[i * a + j] = vm[j * size_t(m) + i];
  }
  const std::vector<double> v_inverse = inverse(evaluation_matrix(points, alpha), a);
  w.bt.resize(a * a);
  for (size_t i = 0; i < a; ++i) {
    for (size_t j = 0; j < a; ++j) w.bt[i * a + j] = v_inverse[j * a + i];
  }
  return w;
}

bool WinogradConv::suits(const ConvSpec& spec) {
  return spec.stride == 1 && (spec.kernel == 3 || spec.kernel == 4) && spec.in_channels % 16 == 0 &&
         spec.out_channels % 16 == 0;
}

int WinogradConv::default_tile(int kernel) { return kernel == 3 ? 4 : 3; }

bool WinogradConv::available() { return EFFICIENTAD_HAVE_ONEDNN != 0; }

#if EFFICIENTAD_HAVE_ONEDNN

namespace {

using dnnl::memory;

constexpr int kChannelBlock = 16;     // one AVX-512 register of fp32
constexpr int kTilesPerProduct = 64;  // rows of each matrix product: a thread's operands stay in its L2 cache

struct TileGrid {
  int height, width, padding, out_height, out_width, tiles_x, tiles_per_image, tiles;
  int tile;  // output tile side m
  struct Origin {
    size_t image;
    int y, x;  // of the tile's first output pixel
  };
  Origin origin(int t) const {
    const int k = t % tiles_per_image;
    return {size_t(t / tiles_per_image), k / tiles_x * tile, k % tiles_x * tile};
  }
};

// The transforms work on vectors of kChannelBlock channels (GCC vector extensions: one zmm register where the
// wrappers below compile them for AVX-512, four xmm registers for the baseline x86-64).
typedef float Channels __attribute__((vector_size(kChannelBlock * sizeof(float))));
// Channels never cross a call boundary (everything is inlined), so the ABI note on passing them is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

[[gnu::always_inline]] inline Channels load(const float* p) {
  Channels v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, Channels v) { __builtin_memcpy(p, &v, sizeof v); }

// V[xi * A + nu][row] = (BT d B)[xi][nu] for each tile's A x A input patch d, zero outside the image.
template <int A>
[[gnu::always_inline]] inline void transform_input_body(const float* __restrict bt, const float* __restrict in,
                                                         const TileGrid& g, int channels, int first, int count,
                                                         float* __restrict v) {
  const size_t plane = size_t(kTilesPerProduct) * size_t(channels);
  for (int row = 0; row < count; ++row) {
    const auto [image, oy, ox] = g.origin(first + row);
    const float* base = in + image * size_t(g.height) * size_t(g.width) * size_t(channels);
    for (int c0 = 0; c0 < channels; c0 += kChannelBlock) {
      Channels d[A][A], t[A][A];
      for (int i = 0; i < A; ++i) {
        const int y = oy + i - g.padding;
        for (int j = 0; j < A; ++j) {
          const int x = ox + j - g.padding;
          const bool inside = y >= 0 && y < g.height && x >= 0 && x < g.width;
          d[i][j] = inside ? load(base + (size_t(y) * size_t(g.width) + size_t(x)) * size_t(channels) + size_t(c0))
                           : Channels{};
        }
      }
      for (int i = 0; i < A; ++i) {
        for (int j = 0; j < A; ++j) {
          Channels s{};
          for (int k = 0; k < A; ++k) s += bt[i * A + k] * d[k][j];
          t[i][j] = s;
        }
      }
      for (int i = 0; i < A; ++i) {
        for (int j = 0; j < A; ++j) {
          Channels s{};
          for (int k = 0; k < A; ++k) s += t[i][k] * bt[j * A + k];
          store(v + size_t(i * A + j) * plane + size_t(row) * size_t(channels) + size_t(c0), s);
        }
      }
    }
  }
}

// out = AT P A + bias (ReLU'd when asked) for each tile's A x A products P, cut at the image's edge.
template <int A, int M>
[[gnu::always_inline]] inline void transform_output_body(const float* __restrict at, const float* __restrict bias,
                                                          bool relu, const float* __restrict products,
                                                          const TileGrid& g, int channels, int first, int count,
                                                          float* __restrict out) {
  const size_t plane = size_t(kTilesPerProduct) * size_t(channels);
  for (int row = 0; row < count; ++row) {
    const auto [image, oy, ox] = g.origin(first + row);
    float* base = out + image * size_t(g.out_height) * size_t(g.out_width) * size_t(channels);
    for (int c0 = 0; c0 < channels; c0 += kChannelBlock) {
      const float* p = products + size_t(row) * size_t(channels) + size_t(c0);
      Channels t[M][A];
      for (int j = 0; j < A; ++j) {
        Channels column[A];
        for (int k = 0; k < A; ++k) column[k] = load(p + size_t(k * A + j) * plane);
        for (int i = 0; i < M; ++i) {
          Channels s{};
          for (int k = 0; k < A; ++k) s += at[i * A + k] * column[k];
          t[i][j] = s;
        }
      }
      const Channels b = load(bias + c0);
      for (int i = 0; i < M && oy + i < g.out_height; ++i) {
        for (int j = 0; j < M && ox + j < g.out_width; ++j) {
          Channels s = b;
          for (int k = 0; k < A; ++k) s += t[i][k] * at[j * A + k];
          if (relu) s = s > 0.0f ? s : Channels{};
          store(base + (size_t(oy + i) * size_t(g.out_width) + size_t(ox + j)) * size_t(channels) + size_t(c0), s);
        }
      }
    }
  }
}

#define EFFICIENTAD_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

using InputTransform = void (*)(const float*, const float*, const TileGrid&, int, int, int, float*);
using OutputTransform = void (*)(const float*, const float*, bool, const float*, const TileGrid&, int, int, int,
                                 float*);

template <int A>
EFFICIENTAD_AVX512 void transform_input_avx512(const float* bt, const float* in, const TileGrid& g, int channels,
                                               int first, int count, float* v) {
  transform_input_body<A>(bt, in, g, channels, first, count, v);
}
template <int A>
void transform_input_baseline(const float* bt, const float* in, const TileGrid& g, int channels, int first,
                              int count, float* v) {
  transform_input_body<A>(bt, in, g, channels, first, count, v);
}
template <int A, int M>
EFFICIENTAD_AVX512 void transform_output_avx512(const float* at, const float* bias, bool relu, const float* products,
                                                const TileGrid& g, int channels, int first, int count, float* out) {
  transform_output_body<A, M>(at, bias, relu, products, g, channels, first, count, out);
}
template <int A, int M>
void transform_output_baseline(const float* at, const float* bias, bool relu, const float* products,
                               const TileGrid& g, int channels, int first, int count, float* out) {
  transform_output_body<A, M>(at, bias, relu, products, g, channels, first, count, out);
}

// The compiled transforms for the tile sizes the kernels of 3 and 4 use with m = 2..4.
struct Transforms {
  InputTransform input = nullptr;
  OutputTransform output = nullptr;
};

template <int A, int M>
Transforms transforms_for(bool avx512) {
  if (avx512) return {transform_input_avx512<A>, transform_output_avx512<A, M>};
  return {transform_input_baseline<A>, transform_output_baseline<A, M>};
}

Transforms select_transforms(int alpha, int m, bool baseline_vectors) {
  const bool avx512 = !baseline_vectors && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  switch (alpha * 10 + m) {
    case 42: return transforms_for<4, 2>(avx512);
    case 52: return transforms_for<5, 2>(avx512);
    case 53: return transforms_for<5, 3>(avx512);
    case 63: return transforms_for<6, 3>(avx512);
    case 64: return transforms_for<6, 4>(avx512);
    default: return {};
  }
}

std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

}  // namespace

struct WinogradConv::Impl {
  ConvSpec spec;
  WinogradMatrices matrices;
  std::vector<float> bt, at, bias;
  bool relu = false;
  Transforms transforms;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::matmul product;
  memory::desc src_desc, dst_desc, scratchpad_desc;
  memory weights;  // the transformed filters, alpha^2 x in_channels x out_channels in the product's layout

  // U[xi][nu][i][o] = (G g G^T)[xi][nu] of the filter g from input channel i to output channel o.
  std::vector<float> transformed_filters(const float* weight) const {
    const int a = matrices.alpha, r = matrices.r;
    const auto ic = size_t(spec.in_channels), oc = size_t(spec.out_channels);
    std::vector<float> u(size_t(a * a) * ic * oc);
    std::vector<double> gg(size_t(a * r));
    for (size_t o = 0; o < oc; ++o) {
      for (size_t i = 0; i < ic; ++i) {
        const float* g = weight + (o * ic + i) * size_t(r * r);
        for (int x = 0; x < a; ++x) {  // gg = G g
          for (int b = 0; b < r; ++b) {
            double s = 0;
            for (int k = 0; k < r; ++k) s += matrices.g[size_t(x * r + k)] * g[k * r + b];
            gg[size_t(x * r + b)] = s;
          }
        }
        for (int x = 0; x < a; ++x) {  // (G g) G^T
          for (int n = 0; n < a; ++n) {
            double s = 0;
            for (int k = 0; k < r; ++k) s += gg[size_t(x * r + k)] * matrices.g[size_t(n * r + k)];
            u[(size_t(x * a + n) * ic + i) * oc + o] = float(s);
          }
        }
      }
    }
    return u;
  }
};

WinogradConv::WinogradConv(const ConvSpec& spec, const float* weight, const float* bias, bool relu, int tile,
                           bool baseline_vectors)
    : impl_(std::make_unique<Impl>()) {
  if (!suits(spec)) {
    throw InvalidArgument("Winograd convolution: layer " + spec.name +
                          " needs stride 1, a 3x3 or 4x4 kernel and channel counts that are multiples of 16");
  }
  Impl& w = *impl_;
  w.spec = spec;
  w.relu = relu;
  w.matrices = winograd_matrices(tile > 0 ? tile : default_tile(int(spec.kernel)), int(spec.kernel));
  w.transforms = select_transforms(w.matrices.alpha, w.matrices.m, baseline_vectors);
  if (!w.transforms.input) {
    throw InvalidArgument("Winograd convolution: no compiled transform for F(" + std::to_string(w.matrices.m) +
                          ", " + std::to_string(spec.kernel) + ")");
  }
  w.bt = to_float(w.matrices.bt);
  w.at = to_float(w.matrices.at);
  w.bias.assign(bias, bias + spec.out_channels);
  const memory::dim planes = memory::dim(w.matrices.alpha) * w.matrices.alpha;
  const memory::dim ic = spec.in_channels, oc = spec.out_channels;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  try {
    w.src_desc = memory::desc({planes, kTilesPerProduct, ic}, dt::f32, tag::abc);
    w.dst_desc = memory::desc({planes, kTilesPerProduct, oc}, dt::f32, tag::abc);
    const memory::desc any_weights({planes, ic, oc}, dt::f32, tag::any);
    // Each thread runs the product with its own scratchpad: the library's own is shared by concurrent calls.
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(w.src_desc, any_weights, w.dst_desc), attr, w.engine);
    w.scratchpad_desc = pd.scratchpad_desc();
    w.product = dnnl::matmul(pd);
    std::vector<float> u = w.transformed_filters(weight);
    memory plain({{planes, ic, oc}, dt::f32, tag::abc}, w.engine, u.data());
    w.weights = memory(pd.weights_desc(), w.engine);
    dnnl::stream stream(w.engine);
    dnnl::reorder(plain, w.weights).execute(stream, plain, w.weights);
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error(std::string("Winograd convolution: oneDNN cannot build the matrix product: ") + e.what());
  }
}

WinogradConv::~WinogradConv() = default;

int WinogradConv::output_side(int input_side) const { return int(conv_output_side(impl_->spec, input_side)); }

void WinogradConv::run(const float* in, int count, int height, int width, float* out) const {
  const Impl& w = *impl_;
  const int m = w.matrices.m;
  TileGrid g{height, width, int(w.spec.padding), output_side(height), output_side(width), 0, 0, 0, m};
  if (count < 1 || g.out_height < 1 || g.out_width < 1) {
    throw InvalidArgument("Winograd convolution: layer " + w.spec.name + " got " + std::to_string(count) +
                          " images of " + std::to_string(width) + "x" + std::to_string(height));
  }
  g.tiles_x = (g.out_width + m - 1) / m;
  g.tiles_per_image = g.tiles_x * ((g.out_height + m - 1) / m);
  g.tiles = g.tiles_per_image * count;
  const int products = (g.tiles + kTilesPerProduct - 1) / kTilesPerProduct;
  const auto ic = int(w.spec.in_channels), oc = int(w.spec.out_channels);
  const size_t planes = size_t(w.matrices.alpha) * size_t(w.matrices.alpha);
  bool failed = false;
#pragma omp parallel
  {
    // Zeroed once per thread: the rows past the last tile are multiplied too, and must not hold NaNs.
    thread_local std::vector<float> transformed, multiplied;
    thread_local std::vector<uint8_t> scratch;
    transformed.resize(std::max(transformed.size(), planes * kTilesPerProduct * size_t(ic)), 0.0f);
    multiplied.resize(std::max(multiplied.size(), planes * kTilesPerProduct * size_t(oc)), 0.0f);
    scratch.resize(std::max(scratch.size(), w.scratchpad_desc.get_size()));
    try {
      dnnl::stream stream(w.engine);
      memory src(w.src_desc, w.engine, transformed.data()), dst(w.dst_desc, w.engine, multiplied.data());
      memory scratchpad(w.scratchpad_desc, w.engine, scratch.data());
#pragma omp for schedule(static) nowait  // a thread that throws must not leave the others at a barrier
      for (int p = 0; p < products; ++p) {
        const int first = p * kTilesPerProduct, rows = std::min(kTilesPerProduct, g.tiles - first);
        w.transforms.input(w.bt.data(), in, g, ic, first, rows, transformed.data());
        w.product.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w.weights}, {DNNL_ARG_DST, dst},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad}});
        w.transforms.output(w.at.data(), w.bias.data(), w.relu, multiplied.data(), g, oc, first, rows, out);
      }
    } catch (const dnnl::error&) {
#pragma omp atomic write
      failed = true;
    }
  }
  if (failed) throw Error("Winograd convolution: oneDNN failed to run layer " + w.spec.name);
}

#else  // no oneDNN

struct WinogradConv::Impl {};

WinogradConv::WinogradConv(const ConvSpec&, const float*, const float*, bool, int, bool) {
  throw Error("Winograd convolution needs oneDNN: configure with -Donednn=enabled");
}
WinogradConv::~WinogradConv() = default;
int WinogradConv::output_side(int) const { return 0; }
void WinogradConv::run(const float*, int, int, int, float*) const {}

#endif

}  // namespace efficientad::detail
