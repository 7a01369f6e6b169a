// Checks every kernel variant of csrc/kernels.cpp that this CPU runs against a scalar
// transposed convolution, without torch: so the kernels of another architecture (NEON on
// aarch64) can be cross-compiled and run under an emulator on an x86-64 build machine.
//
//   g++ -O2 -std=c++17 -ffp-contract=fast -Icsrc csrc/kernels.cpp csrc/check/check_kernels.cpp -o check
//   ./check        -> one line per variant and case, exit 0 when every output is within tolerance
//
// tests/test_kernels_native.py builds and runs it (natively, and for aarch64 under
// qemu-aarch64 when a cross compiler and qemu-user are installed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels.h"

using a2i::GemmLayer;
using a2i::GemmTile;
using a2i::Kernels;
using a2i::PixLayer;

namespace {

long round_up16(long c) { return (c + 15) / 16 * 16; }

struct Case {
  int cin, cout, H, W, act;
};

// y = act(conv_transpose2d(x, w, b, stride 2, padding 1)); x [cin][H][W], w [cin][cout][4][4] -> [cout][2H][2W]
std::vector<float> reference(const Case& c, const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b) {
  const int Ho = 2 * c.H, Wo = 2 * c.W;
  std::vector<double> y((size_t)c.cout * Ho * Wo, 0.0);
  for (int ci = 0; ci < c.cin; ++ci)
    for (int iy = 0; iy < c.H; ++iy)
      for (int ix = 0; ix < c.W; ++ix)
        for (int co = 0; co < c.cout; ++co)
          for (int ky = 0; ky < 4; ++ky)
            for (int kx = 0; kx < 4; ++kx) {
              const int oy = 2 * iy - 1 + ky, ox = 2 * ix - 1 + kx;
              if (oy < 0 || oy >= Ho || ox < 0 || ox >= Wo) continue;
              y[((size_t)co * Ho + oy) * Wo + ox] +=
                  (double)x[((size_t)ci * c.H + iy) * c.W + ix] * w[(((size_t)ci * c.cout + co) * 4 + ky) * 4 + kx];
            }
  std::vector<float> out(y.size());
  for (int co = 0; co < c.cout; ++co)
    for (int p = 0; p < Ho * Wo; ++p) {
      double v = y[(size_t)co * Ho * Wo + p] + b[co];
      if (c.act == 1) v = v > 0 ? v : 0.2 * v;
      if (c.act == 2) v = std::tanh(v);
      out[(size_t)co * Ho * Wo + p] = (float)v;
    }
  return out;
}

// Wp[py][px][r][j][ci][co] = w[ci][co][3-py-2r][3-px-2j], co padded to a multiple of 16 (ops.py: pack_weight_ref)
std::vector<float> pack(const Case& c, const std::vector<float>& w) {
  const long coutp = round_up16(c.cout);
  std::vector<float> p((size_t)16 * c.cin * coutp, 0.f);
  for (int py = 0; py < 2; ++py)
    for (int px = 0; px < 2; ++px)
      for (int r = 0; r < 2; ++r)
        for (int j = 0; j < 2; ++j)
          for (int ci = 0; ci < c.cin; ++ci)
            for (int co = 0; co < c.cout; ++co)
              p[(((((size_t)py * 2 + px) * 2 + r) * 2 + j) * c.cin + ci) * coutp + co] =
                  w[(((size_t)ci * c.cout + co) * 4 + 3 - py - 2 * r) * 4 + 3 - px - 2 * j];
  return p;
}

// The pixel kernels: planar padded input, planar float output (and, for 3 channels + tanh, uint8 HWC).
double run_pix(const Kernels& K, const Case& c, const std::vector<float>& x, const std::vector<float>& wp,
               const std::vector<float>& bp, std::vector<float>& out, std::vector<unsigned char>& u8) {
  std::vector<float> xp((size_t)c.cin * (c.H + 2) * (c.W + 2), 0.f);
  for (int ci = 0; ci < c.cin; ++ci)
    for (int y = 0; y < c.H; ++y)
      for (int x0 = 0; x0 < c.W; ++x0)
        xp[((size_t)ci * (c.H + 2) + y + 1) * (c.W + 2) + x0 + 1] = x[((size_t)ci * c.H + y) * c.W + x0];
  PixLayer P{};
  P.X = xp.data();
  P.prs = c.W + 2;
  P.ps = (long)(c.H + 2) * (c.W + 2);
  P.H = c.H;
  P.W = c.W;
  P.cin = c.cin;
  P.cout = c.cout;
  P.Wp = wp.data();
  P.coutp = round_up16(c.cout);
  P.bias = bp.data();
  P.act = c.act;
  P.slope = 0.2f;
  P.O = out.data();
  P.ocs = 4L * c.H * c.W;
  P.ors = 2L * c.W;
  P.opad = 0;
  K.pix_rows(P, 0, 2 * c.H);
  if (c.cout == 3 && c.act == 2) {  // the uint8 epilogue of the final layer
    P.O = nullptr;
    P.U = u8.data();
    P.urs = 2L * c.W * 3;
    K.pix_rows(P, 0, 2 * c.H);
  }
  return 0;
}

// The GEMM kernels: padded NHWC input, one tile per (parity, output pixel, channel block), all taps.
void run_gemm(const Kernels& K, const Case& c, const std::vector<float>& x, const std::vector<float>& wp,
              const std::vector<float>& bp, std::vector<float>& out) {
  const long coutp = round_up16(c.cout);
  std::vector<float> xp((size_t)(c.H + 2) * (c.W + 2) * c.cin, 0.f);
  for (int ci = 0; ci < c.cin; ++ci)
    for (int y = 0; y < c.H; ++y)
      for (int x0 = 0; x0 < c.W; ++x0)
        xp[(((size_t)y + 1) * (c.W + 2) + x0 + 1) * c.cin + ci] = x[((size_t)ci * c.H + y) * c.W + x0];
  GemmLayer L{(long)(c.W + 2) * c.cin, c.cin, c.cout, coutp, bp.data(), c.act, 0.2f, 4L * c.H * c.W, false};
  std::vector<GemmTile> tiles;
  const long S = (long)c.cin * coutp;
  for (int py = 0; py < 2; ++py)
    for (int px = 0; px < 2; ++px)
      for (long co0 = 0; co0 < c.cout;) {
        const long need = (c.cout - co0 + K.vl - 1) / K.vl;
        const int nv = need >= 4 && K.nv_max >= 4 ? 4 : (need >= 2 ? 2 : 1);
        const int mrmax = K.gemm_mr_max(nv);
        for (int m = 0; m < c.H; ++m)
          for (int n = 0; n < c.W; n += mrmax) {
            GemmTile t{};
            t.a = xp.data() + (long)(m + py) * L.rs_in + (long)(n + px) * c.cin;
            t.as = c.cin;
            t.w = wp.data() + (long)((py * 2 + px) * 4) * S + co0;
            t.co0 = (int)co0;
            t.mr = std::min(mrmax, c.W - n);
            t.nv = nv;
            t.nr = 2;
            t.kk = 2 * c.cin;
            t.o = out.data() + (long)(2 * m + py) * 2 * c.W + 2 * n + px;
            t.os = 2;
            tiles.push_back(t);
          }
        co0 += (long)K.vl * nv;
      }
  K.gemm_tiles(L, tiles.data(), (long)tiles.size());
}

int check(const char* what, const Kernels& K, const Case& c, const std::vector<float>& got,
          const std::vector<float>& want) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::fmax(worst, std::fabs((double)got[i] - want[i]) / (1e-5 + std::fabs(want[i]) * 1e-4));
  const bool ok = worst <= 1.0;
  std::printf("%-8s %-5s cin %3d cout %3d %3dx%-3d act %d: %s (worst error %.2f of tolerance)\n", K.isa, what, c.cin,
              c.cout, c.H, c.W, c.act, ok ? "ok" : "FAILED", worst);
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  const Case cases[] = {{4, 3, 16, 16, 2},  {8, 4, 8, 32, 1},  {5, 7, 4, 48, 0},  {16, 8, 3, 16, 1},
                        {3, 3, 2, 64, 2},   {32, 16, 5, 5, 1}, {9, 40, 3, 7, 2},  {128, 64, 2, 2, 1}};
  std::mt19937 rng(0);
  std::normal_distribution<float> nd(0.f, 1.f);
  int failed = 0, ran = 0;
  for (const Kernels* K : a2i::supported_kernels()) {
    for (const Case& c : cases) {
      std::vector<float> x((size_t)c.cin * c.H * c.W), w((size_t)c.cin * c.cout * 16), b(round_up16(c.cout), 0.f);
      for (float& v : x) v = nd(rng);
      for (float& v : w) v = nd(rng) / std::sqrt((float)c.cin);
      for (int i = 0; i < c.cout; ++i) b[i] = nd(rng);
      const std::vector<float> want = reference(c, x, w, b), wp = pack(c, w);
      std::vector<float> got(want.size(), -9.f);
      if (c.W % K->vl == 0) {
        std::vector<unsigned char> u8((size_t)4 * c.H * c.W * 3);
        run_pix(*K, c, x, wp, b, got, u8);
        failed += check("pix", *K, c, got, want);
        if (c.cout == 3 && c.act == 2) {  // uint8: within one level of round((clamp(y) + 1) * 127.5)
          int bad = 0;
          for (int p = 0; p < 4 * c.H * c.W; ++p)
            for (int ch = 0; ch < 3; ++ch) {
              const double level = std::nearbyint((std::fmax(-1.0, std::fmin(1.0, want[(size_t)ch * 4 * c.H * c.W + p])) + 1) * 127.5);
              bad += std::fabs(level - u8[(size_t)p * 3 + ch]) > 1;
            }
          std::printf("%-8s uint8 cin %3d cout %3d %3dx%-3d: %s\n", K->isa, c.cin, c.cout, c.H, c.W, bad ? "FAILED" : "ok");
          failed += bad != 0;
        }
        ++ran;
      }
      std::fill(got.begin(), got.end(), -9.f);
      run_gemm(*K, c, x, wp, b, got);
      failed += check("gemm", *K, c, got, want);
      ++ran;
    }
  }
  std::printf("%d checks, %d failed\n", ran, failed);
  return failed ? 1 : 0;
}
