// a2i C++ ops: a fused stride-2 / kernel-4 / padding-1 transposed convolution
// (+ bias + LeakyReLU or Tanh) and a whole-decoder op that runs every layer with reused,
// cache-sized buffers and can write the final image as uint8 HWC.
//
//   a2i::pack_weight(Tensor w) -> Tensor
//       (cin, cout, 4, 4) -> (2, 2, 2, 2, cin, coutp): Wp[py][px][r][j][ci][co]
//       = w[ci][co][3-py-2r][3-px-2j], co zero-padded to a multiple of 16.
//   a2i::deconv_s2k4(Tensor x, Tensor w, Tensor? bias, int act, float slope) -> Tensor
//       x (B, cin, H, W) NCHW -> (B, cout, 2H, 2W); act 0 none, 1 leaky_relu(slope), 2 tanh.
//   a2i::decoder(Tensor z, Tensor[] weights, Tensor[] biases, float slope, bool uint8_out) -> Tensor
//       z (B, latent); weights raw (cin, cout, 4, 4) or packed (pack_weight); LeakyReLU
//       after every layer but the last, Tanh at the end. -> (B, 3, S, S) float32, or
//       (B, S, S, 3) uint8 = ((clamp(x,-1,1)+1)*127.5).round() when uint8_out.
//
// Pure-PyTorch references of all three live in a2i_cli/ops.py.
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace a2i {
namespace {

constexpr int ACT_NONE = 0, ACT_LEAKY = 1, ACT_TANH = 2;

long round_up16(long c) { return (c + 15) / 16 * 16; }

// A growable buffer that is zeroed only when the layout it holds changes, so the zero
// borders of the padded activations survive between calls (kernels write interiors only).
struct Scratch {
  std::vector<float> buf;
  std::vector<long> sig;
  float* get(const std::vector<long>& layout, size_t n) {
    if (layout != sig || buf.size() < n) {
      std::vector<float>().swap(buf);
      buf.assign(n, 0.f);
      sig = layout;
    }
    return buf.data();
  }
};

Scratch& caller_scratch() {
  static thread_local Scratch s;
  return s;
}
Scratch& worker_scratch() {
  static thread_local Scratch s;
  return s;
}

// Dynamic scheduling over [0, n): the threads pull items from a shared counter, so one
// thread slowed down by another process on its core does not hold the others back.
template <class F>
void parallel_dynamic(long n, long grain, const F& f) {
  const long nchunks = (n + grain - 1) / grain;
  const int nt = (int)std::min<long>(at::get_num_threads(), nchunks);
  if (nt <= 1 || at::in_parallel_region()) {
    if (n > 0) f(0L, n);
    return;
  }
  std::atomic<long> next{0};
  at::parallel_for(0, nt, 1, [&](int64_t, int64_t) {
    for (;;) {
      const long c = next.fetch_add(1);
      if (c >= nchunks) break;
      f(c * grain, std::min(n, (c + 1) * grain));
    }
  });
}

void check_float_cpu(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.device().is_cpu(), "a2i: ", what, " must be a CPU tensor, got device ", t.device());
  TORCH_CHECK(t.scalar_type() == at::kFloat, "a2i: ", what, " must be float32, got ", t.scalar_type());
  TORCH_CHECK(t.is_contiguous(), "a2i: ", what, " must be contiguous (call .contiguous() first)");
}

void check_raw_weight(const at::Tensor& w, const char* what) {
  check_float_cpu(w, what);
  TORCH_CHECK(w.dim() == 4 && w.size(2) == 4 && w.size(3) == 4, "a2i: ", what,
              " must have shape (cin, cout, 4, 4) like ConvTranspose2d.weight, got ", w.sizes());
}

at::Tensor pack_weight_cpu(const at::Tensor& w) {
  check_raw_weight(w, "weight");
  const long cin = w.size(0), cout = w.size(1), coutp = round_up16(cout);
  at::Tensor out = at::zeros({2, 2, 2, 2, cin, coutp}, w.options());
  const float* src = w.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (int py = 0; py < 2; ++py)
    for (int px = 0; px < 2; ++px)
      for (int r = 0; r < 2; ++r)
        for (int j = 0; j < 2; ++j) {
          const int ky = 3 - py - 2 * r, kx = 3 - px - 2 * j;
          float* d = dst + ((((py * 2 + px) * 2 + r) * 2 + j) * cin) * coutp;
          for (long ci = 0; ci < cin; ++ci)
            for (long co = 0; co < cout; ++co) d[ci * coutp + co] = src[((ci * cout + co) * 4 + ky) * 4 + kx];
        }
  return out;
}

// Where one GEMM layer writes: output pixel (b, oy, ox) channel c is at
// o + b*img + (oy+pad)*rs + (ox+pad)*px + c*cs (float) or u + b*uimg + oy*urs + ox*3 + c (uint8).
struct OutDesc {
  float* o = nullptr;
  long img = 0, rs = 0, px = 0, cs = 0;
  int pad = 0;
  unsigned char* u = nullptr;
  long uimg = 0, urs = 0;
};

// Splits n items into ceil(n / most) runs of near-equal length (a row of 8 pixels with
// tiles of at most 6 rows is 4 + 4, not 6 + 2).
template <class F>
void split_even(int n, int most, const F& f) {
  const int parts = (n + most - 1) / most;
  for (int p = 0, start = 0; p < parts; ++p) {
    const int len = n / parts + (p < n % parts ? 1 : 0);
    f(start, len);
    start += len;
  }
}

// Input: padded NHWC [B][H+2][W+2][cin] at x (image stride img).
void run_gemm_layer(const Kernels& K, const float* x, long img, int B, int H, int W, int cin, int cout,
                    const float* wp, const float* bias_padded, int act, float slope, const OutDesc& od) {
  const long coutp = round_up16(cout);
  GemmLayer L{(long)(W + 2) * cin, cin, cout, coutp, bias_padded, act, slope, od.cs, od.u != nullptr};
  const long S = (long)cin * coutp;
  // Tiles run along an image row when the row is long (or longer than the chunk has images),
  // else across the images of the chunk: at batch 64 an 8-pixel row gives tiles of 4 rows,
  // 64 images tiles of 6 (L3 of the seed decoder 2.79 -> 2.56 ms on the AVX2 EPYC), and at
  // batch 1 a 4-pixel row a tile of 4 instead of 1 (L2 0.08 -> 0.04 ms).
  const bool pixel_mode = W >= 16 || W > B;
  std::vector<GemmTile> tiles;
  for (int py = 0; py < 2; ++py)
    for (int px = 0; px < 2; ++px) {
      const float* wpar = wp + (long)((py * 2 + px) * 4) * S;
      for (long co0 = 0; co0 < cout;) {
        const long need = (cout - co0 + K.vl - 1) / K.vl;  // channel vectors still to do
        const int nv = need >= 4 && K.nv_max >= 4 ? 4 : (need >= 2 ? 2 : 1);
        const int mrmax = K.gemm_mr_max(nv);
        // A tile at output row m (and column n in batch mode) reads tap rows [r0, r1) and,
        // in batch mode, tap columns [j0, j1): the others fall on the zero border.
        auto add = [&](int b, int m, int n, int mr, long as, long os, long us, bool cols) {
          const int r0 = m - 1 + py < 0 ? 1 : 0, r1 = m + py >= H ? 1 : 2;
          const int j0 = cols && n - 1 + px < 0 ? 1 : 0, j1 = cols && n + px >= W ? 1 : 2;
          if (r1 <= r0 || j1 <= j0) return;  // cannot happen for H, W >= 1
          GemmTile t;
          t.a = x + b * img + (long)(m + py + r0) * L.rs_in + (long)(n + px + j0) * cin;
          t.as = as;
          t.w = wpar + co0 + ((long)r0 * 2 * cin + (long)j0 * cin) * coutp;
          t.co0 = (int)co0;
          t.mr = mr;
          t.nv = nv;
          t.nr = r1 - r0;
          t.kk = (j1 - j0) * cin;
          const int oy = 2 * m + py, ox = 2 * n + px;
          t.o = od.o ? od.o + b * od.img + (oy + od.pad) * od.rs + (ox + od.pad) * od.px : nullptr;
          t.os = os;
          t.u = od.u ? od.u + b * od.uimg + oy * od.urs + ox * 3 : nullptr;
          t.us = us;
          tiles.push_back(t);
        };
        if (pixel_mode) {
          for (int b = 0; b < B; ++b)
            for (int m = 0; m < H; ++m)
              split_even(W, mrmax, [&](int n, int mr) { add(b, m, n, mr, cin, 2 * od.px, 6, false); });
        } else {
          for (int m = 0; m < H; ++m)
            for (int n = 0; n < W; ++n)
              split_even(B, mrmax, [&](int b, int mr) { add(b, m, n, mr, img, od.img, od.uimg, true); });
        }
        co0 += (long)K.vl * nv;
      }
    }
  const long n = (long)tiles.size();
  parallel_dynamic(n, std::max<long>(1, n / (16 * std::max(1, at::get_num_threads()))),
                   [&](long lo, long hi) { K.gemm_tiles(L, tiles.data() + lo, hi - lo); });
}

PixLayer make_pix(const float* x, int H, int W, int cin, int cout, const float* wp, const float* bias, int act,
                  float slope) {
  PixLayer P{};
  P.X = x;
  P.prs = W + 2;
  P.ps = (long)(H + 2) * (W + 2);
  P.H = H;
  P.W = W;
  P.cin = cin;
  P.cout = cout;
  P.Wp = wp;
  P.coutp = round_up16(cout);
  P.bias = bias;
  P.act = act;
  P.slope = slope;
  return P;
}

void check_act(int64_t act) {
  TORCH_CHECK(act == ACT_NONE || act == ACT_LEAKY || act == ACT_TANH,
              "a2i: act must be 0 (none), 1 (leaky_relu) or 2 (tanh), got ", act);
}

at::Tensor deconv_s2k4_cpu(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& bias,
                           int64_t act, double slope) {
  check_float_cpu(x, "x");
  TORCH_CHECK(x.dim() == 4, "a2i::deconv_s2k4: x must have rank 4 (B, cin, H, W), got rank ", x.dim());
  check_raw_weight(w, "w");
  TORCH_CHECK(x.size(1) == w.size(0), "a2i::deconv_s2k4: channel count mismatch: x has ", x.size(1),
              " channels but w expects cin = ", w.size(0));
  check_act(act);
  const int B = (int)x.size(0), cin = (int)x.size(1), H = (int)x.size(2), W = (int)x.size(3), cout = (int)w.size(1);
  const long coutp = round_up16(cout);
  at::Tensor b = at::zeros({coutp}, x.options());
  if (bias.has_value() && bias->defined()) {
    check_float_cpu(*bias, "bias");
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == cout, "a2i::deconv_s2k4: bias must have shape (", cout,
                ",) = (cout,), got ", bias->sizes());
    b.narrow(0, 0, cout).copy_(*bias);
  }
  at::Tensor out = at::empty({B, cout, 2 * H, 2 * W}, x.options());
  if (out.numel() == 0) return out;
  at::Tensor wp = pack_weight_cpu(w);
  const float sl = (float)slope;
  const long oplane = 4L * H * W;
  if (W % 16 == 0) {
    at::Tensor xp = at::zeros({B, cin, H + 2, W + 2}, x.options());
    xp.narrow(2, 1, H).narrow(3, 1, W).copy_(x);
    const float* xpd = xp.data_ptr<float>();
    float* od = out.data_ptr<float>();
    const Kernels& K = kernels();
    const long rows = 2L * H;
    at::parallel_for(0, (int64_t)B * rows, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const long bi = i / rows, oy = i % rows;
        PixLayer P = make_pix(xpd + bi * cin * (long)(H + 2) * (W + 2), H, W, cin, cout, wp.data_ptr<float>(),
                              b.data_ptr<float>(), (int)act, sl);
        P.O = od + bi * cout * oplane;
        P.ocs = oplane;
        P.ors = 2L * W;
        P.opad = 0;
        K.pix_rows(P, (int)oy, (int)oy + 1);
      }
    });
  } else {
    at::Tensor xp = at::zeros({B, H + 2, W + 2, cin}, x.options());
    xp.narrow(1, 1, H).narrow(2, 1, W).copy_(x.permute({0, 2, 3, 1}));
    OutDesc od;
    od.o = out.data_ptr<float>();
    od.img = cout * oplane;
    od.rs = 2L * W;
    od.px = 1;
    od.cs = oplane;
    run_gemm_layer(kernels(), xp.data_ptr<float>(), (long)(H + 2) * (W + 2) * cin, B, H, W, cin, cout, wp.data_ptr<float>(),
                   b.data_ptr<float>(), (int)act, sl, od);
  }
  return out;
}

// Seconds spent per layer, when asked (decoder_layer_times): stage-A layers by wall time,
// stage-B layers by the time summed over the threads that ran them, divided by the threads.
using Clock = std::chrono::steady_clock;
struct LayerTimes {
  std::vector<std::atomic<long>> ns;
  explicit LayerTimes(int n) : ns(n) {}
  void add(int l, Clock::time_point t0) { ns[l] += (long)std::chrono::nanoseconds(Clock::now() - t0).count(); }
};

at::Tensor decoder_impl(const at::Tensor& z, at::TensorList weights, at::TensorList biases, double slope,
                        bool uint8_out, LayerTimes* times) {
  check_float_cpu(z, "z");
  TORCH_CHECK(z.dim() == 2, "a2i::decoder: z must have rank 2 (B, latent), got rank ", z.dim());
  const int nl = (int)weights.size();
  TORCH_CHECK(nl >= 1, "a2i::decoder: needs at least one layer (weights is empty)");
  TORCH_CHECK((int)biases.size() == nl, "a2i::decoder: got ", nl, " weights but ", biases.size(),
              " biases; pass one bias per layer");
  TORCH_CHECK(nl <= 12, "a2i::decoder: at most 12 layers (4096x4096 images), got ", nl);
  // Channel chain and packed weights.
  std::vector<int> cin(nl), cout(nl);
  std::vector<at::Tensor> packed(nl), bpad(nl);
  for (int l = 0; l < nl; ++l) {
    const at::Tensor& w = weights[l];
    const std::string wname = "weights[" + std::to_string(l) + "]";
    check_float_cpu(w, wname.c_str());
    const at::Tensor& b = biases[l];
    const std::string bname = "biases[" + std::to_string(l) + "]";
    check_float_cpu(b, bname.c_str());
    TORCH_CHECK(b.dim() == 1, "a2i::decoder: ", bname, " must have rank 1 (cout,), got rank ", b.dim());
    cout[l] = (int)b.size(0);
    if (w.dim() == 4) {
      check_raw_weight(w, wname.c_str());
      cin[l] = (int)w.size(0);
      TORCH_CHECK(w.size(1) == cout[l], "a2i::decoder: ", wname, " has cout = ", w.size(1), " but ", bname,
                  " has ", cout[l], " entries");
      packed[l] = pack_weight_cpu(w);
    } else {
      TORCH_CHECK(w.dim() == 6 && w.size(0) == 2 && w.size(1) == 2 && w.size(2) == 2 && w.size(3) == 2 &&
                      w.size(5) == round_up16(cout[l]),
                  "a2i::decoder: ", wname, " must be (cin, cout, 4, 4) or packed by a2i::pack_weight to (2, 2, 2, 2, cin, ",
                  round_up16(cout[l]), "), got ", w.sizes());
      cin[l] = (int)w.size(4);
      packed[l] = w;
    }
    const int expect = l == 0 ? (int)z.size(1) : cout[l - 1];
    TORCH_CHECK(cin[l] == expect, "a2i::decoder: channel count mismatch: ", wname, " expects cin = ", cin[l],
                " but its input has ", expect, l == 0 ? " channels (z.size(1))" : " channels (previous layer's cout)");
    bpad[l] = at::zeros({round_up16(cout[l])}, z.options());
    bpad[l].narrow(0, 0, cout[l]).copy_(b);
  }
  const int C_last = cout[nl - 1];
  TORCH_CHECK(!uint8_out || C_last == 3, "a2i::decoder: uint8_out needs 3 output channels (RGB), the last layer has ",
              C_last);
  const long B = z.size(0);
  const long S = 1L << nl;
  at::Tensor out = uint8_out ? at::empty({B, S, S, 3}, z.options().dtype(at::kByte))
                             : at::empty({B, C_last, S, S}, z.options());
  if (B == 0) return out;
  const float sl = (float)slope;
  auto act_of = [&](int l) { return l == nl - 1 ? ACT_TANH : ACT_LEAKY; };
  // Layers whose input is at least 16 wide run pixel-vectorised per image; before that,
  // GEMM-like over the whole chunk of images.
  int p0 = 0;
  while (p0 < nl && (1L << p0) < 16) ++p0;
  const long CB = std::min<long>(B, 64);
  // Stage-A buffers: padded NHWC for layers 0..p0-1, and the planar input of layer p0.
  std::vector<long> offA(p0 + 1), sig{CB, nl, (long)z.size(1)};
  long totA = 0;
  for (int l = 0; l <= std::min(p0, nl - 1); ++l) {
    const long Hs = (1L << l) + 2, C = cin[l];
    offA[l] = totA;
    totA += CB * Hs * Hs * C;
    sig.push_back(C);
  }
  float* A = caller_scratch().get(sig, totA);
  const float* zd = z.data_ptr<float>();
  float* of = uint8_out ? nullptr : out.data_ptr<float>();
  unsigned char* ou = uint8_out ? out.data_ptr<unsigned char>() : nullptr;
  const Kernels& K = kernels();
  const int nthreads = at::get_num_threads();
  int per_image_threads = 1;  // threads that shared the stage-B layers (for LayerTimes)

  for (long c0 = 0; c0 < B; c0 += CB) {
    const int nb = (int)std::min(CB, B - c0);
    // z -> centre pixel of the padded 3x3 NHWC input of layer 0.
    {
      const long C = cin[0];
      for (int b = 0; b < nb; ++b) std::memcpy(A + offA[0] + (long)b * 9 * C + 4 * C, zd + (c0 + b) * C, C * sizeof(float));
    }
    for (int l = 0; l < std::min(p0, nl); ++l) {
      const Clock::time_point t0 = Clock::now();
      const int H = 1 << l, Ho = 2 * H;
      const long img = (long)(H + 2) * (H + 2) * cin[l];
      OutDesc od;
      if (l == nl - 1) {  // final layer in GEMM mode (images smaller than 32x32)
        if (uint8_out) {
          od.u = ou + c0 * S * S * 3;
          od.uimg = S * S * 3;
          od.urs = S * 3;
        } else {
          od.o = of + c0 * C_last * S * S;
          od.img = C_last * S * S;
          od.rs = S;
          od.px = 1;
          od.cs = S * S;
        }
      } else if (l + 1 < p0) {  // padded NHWC
        od.o = A + offA[l + 1];
        od.img = (long)(Ho + 2) * (Ho + 2) * cout[l];
        od.rs = (long)(Ho + 2) * cout[l];
        od.px = cout[l];
        od.cs = 1;
        od.pad = 1;
      } else {  // padded planar, the input of the first pixel layer
        od.o = A + offA[l + 1];
        od.img = (long)(Ho + 2) * (Ho + 2) * cout[l];
        od.rs = Ho + 2;
        od.px = 1;
        od.cs = (long)(Ho + 2) * (Ho + 2);
        od.pad = 1;
      }
      run_gemm_layer(K, A + offA[l], img, nb, H, H, cin[l], cout[l], packed[l].data_ptr<float>(),
                     bpad[l].data_ptr<float>(), act_of(l), sl, od);
      if (times) times->add(l, t0);
    }
    if (p0 >= nl) continue;
    // Stage B: per image, planar padded buffers, the final layer straight into `out`.
    std::vector<long> offB(nl + 1, 0), sigB{nl};
    long totB = 0;
    for (int l = p0 + 1; l < nl; ++l) {
      const long Hs = (1L << l) + 2;
      offB[l] = totB;
      totB += cin[l] * Hs * Hs;
      sigB.push_back(cin[l]);
    }
    auto run_image = [&](int b, float* scratch, bool par_rows) {
      for (int l = p0; l < nl; ++l) {
        const int H = 1 << l, Ho = 2 * H;
        const float* x = l == p0 ? A + offA[p0] + (long)b * cin[p0] * (H + 2) * (H + 2) : scratch + offB[l];
        PixLayer P = make_pix(x, H, H, cin[l], cout[l], packed[l].data_ptr<float>(), bpad[l].data_ptr<float>(),
                              act_of(l), sl);
        if (l == nl - 1) {
          if (uint8_out) {
            P.U = ou + (c0 + b) * S * S * 3;
            P.urs = S * 3;
          } else {
            P.O = of + (c0 + b) * C_last * S * S;
            P.ocs = S * S;
            P.ors = S;
            P.opad = 0;
          }
        } else {
          P.O = scratch + offB[l + 1];
          P.ocs = (long)(Ho + 2) * (Ho + 2);
          P.ors = Ho + 2;
          P.opad = 1;
        }
        const Clock::time_point t0 = Clock::now();
        if (par_rows)
          parallel_dynamic(Ho, std::max(1, Ho / 16), [&](long lo, long hi) { K.pix_rows(P, (int)lo, (int)hi); });
        else
          K.pix_rows(P, 0, Ho);
        if (times) times->add(l, t0);
      }
    };
    if (nb >= nthreads && nthreads > 1) {
      per_image_threads = nthreads;
      parallel_dynamic(nb, 1, [&](long lo, long hi) {
        float* s = worker_scratch().get(sigB, std::max<long>(totB, 1));
        for (long b = lo; b < hi; ++b) run_image((int)b, s, false);
      });
    } else {
      std::vector<long> sigC = sigB;
      sigC.push_back(-1);  // distinct from the worker layout even on the calling thread
      static thread_local Scratch own;
      float* s = own.get(sigC, std::max<long>(totB, 1));
      for (int b = 0; b < nb; ++b) run_image(b, s, true);
    }
  }
  if (times && per_image_threads > 1)
    for (int l = p0; l < nl; ++l) times->ns[l] = times->ns[l] / per_image_threads;
  return out;
}

at::Tensor decoder_cpu(const at::Tensor& z, at::TensorList weights, at::TensorList biases, double slope,
                       bool uint8_out) {
  return decoder_impl(z, weights, biases, slope, uint8_out, nullptr);
}

// The decoder once, returning its seconds per layer instead of the images (benchmarks/bench_decoder.py --layers).
std::vector<double> decoder_layer_times_cpu(const at::Tensor& z, at::TensorList weights, at::TensorList biases,
                                            double slope, bool uint8_out) {
  LayerTimes times((int)weights.size());
  decoder_impl(z, weights, biases, slope, uint8_out, &times);
  std::vector<double> out;
  for (auto& t : times.ns) out.push_back(t.load() * 1e-9);
  return out;
}

}  // namespace

TORCH_LIBRARY(a2i, m) {
  m.def("pack_weight(Tensor w) -> Tensor");
  m.def("deconv_s2k4(Tensor x, Tensor w, Tensor? bias, int act, float slope) -> Tensor");
  m.def("decoder(Tensor z, Tensor[] weights, Tensor[] biases, float slope, bool uint8_out) -> Tensor");
  m.def("decoder_layer_times(Tensor z, Tensor[] weights, Tensor[] biases, float slope, bool uint8_out) -> float[]");
  m.def("isa() -> str");
  m.def("isa_list() -> str[]");
  m.def("set_isa(str name) -> bool");
}

std::string isa_cpu() { return kernels().isa; }

std::vector<std::string> isa_list_cpu() {
  std::vector<std::string> out;
  for (const Kernels* k : supported_kernels()) out.emplace_back(k->isa);
  return out;
}

bool set_isa_cpu(std::string name) { return set_kernels(name); }

TORCH_LIBRARY_IMPL(a2i, CPU, m) {
  m.impl("pack_weight", &pack_weight_cpu);
  m.impl("deconv_s2k4", &deconv_s2k4_cpu);
  m.impl("decoder", &decoder_cpu);
  m.impl("decoder_layer_times", &decoder_layer_times_cpu);
}

TORCH_LIBRARY_IMPL(a2i, CompositeExplicitAutograd, m) {
  m.impl("isa", &isa_cpu);
  m.impl("isa_list", &isa_list_cpu);
  m.impl("set_isa", &set_isa_cpu);
}

}  // namespace a2i

// An importable module so `import a2i_cli._C` loads the library and registers the ops.
extern "C" {
#include <Python.h>
static struct PyModuleDef a2i_module = {PyModuleDef_HEAD_INIT, "_C", "a2i C++ ops (torch.ops.a2i)", -1, nullptr};
PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&a2i_module); }
}
