// SIMD kernels of the fused stride-2 / kernel-4 / padding-1 transposed convolution.
//
// kernels.cpp includes this header once per instruction set, each time inside its own
// `namespace` (and, on x86-64, its own `#pragma GCC target(...)` region), after defining two
// macros that describe the register file the variant compiles for:
//
//   A2I_VBYTES  bytes per vector register: 64 (AVX-512), 32 (AVX2), 16 (SSE2, NEON, portable)
//   A2I_NREGS   vector registers: 32 (AVX-512, NEON) or 16 (AVX2, SSE2, portable)
//
// and optionally the variant's name for the few builtins that have no portable spelling
// (A2I_AVX2, A2I_SSE2: min/max/round; A2I_RCP14: a reciprocal estimate). A2I_SIM marks the test-only
// avx512sim variant: the AVX-512 code compiled for AVX2 (see kernels.cpp).
//
// Every tile shape below is derived from those two numbers, so the accumulators of a tile
// stay in registers on every variant (a 16-register file gets tiles of at most 12
// accumulators, a 32-register file of at most 24). The header uses GCC vector extensions
// (plus the builtins above, each with a portable fallback) and must not include system
// headers: csrc/check/check_kernels.cpp builds it without torch, for other architectures too.
//
// Geometry. out[oy, ox] of ConvTranspose2d(k=4, s=2, p=1) for oy = 2m + py, ox = 2n + px
// reads the 2x2 input window rows iy = m - 1 + py + r, cols ix = n - 1 + px + j
// (r, j in {0, 1}) with kernel tap ky = 3 - py - 2r, kx = 3 - px - 2j. Inputs live in
// buffers with a one-pixel zero border, so every tap is in bounds; taps that read only the
// border are skipped where a whole tile shares them.
//
// Packed weights Wp[py][px][r][j][ci][co] (co padded to coutp, a multiple of 16)
//   = w[ci][co][3 - py - 2r][3 - px - 2j]     (see a2i_cli/inference/ops.py: pack_weight_ref)

constexpr int VL = A2I_VBYTES / 4;  // floats per vector
constexpr int NREGS = A2I_NREGS;

typedef float vf __attribute__((vector_size(A2I_VBYTES)));
typedef int vi __attribute__((vector_size(A2I_VBYTES)));
typedef unsigned char vb __attribute__((vector_size(A2I_VBYTES)));

static inline vf loadu(const float* p) { vf v; __builtin_memcpy(&v, p, sizeof(vf)); return v; }
static inline void storeu(float* p, vf v) { __builtin_memcpy(p, &v, sizeof(vf)); }
// One broadcast. (`vf{} + x` would add a zero first, as -0.f + 0.f is not -0.f, and a loop
// over the lanes is not always recognised.)
static inline vf splat(float x) {
#if A2I_VBYTES == 64
  return vf{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#elif A2I_VBYTES == 32
  return vf{x, x, x, x, x, x, x, x};
#else
  return vf{x, x, x, x};
#endif
}
// min / max as one instruction where the variant names it (GCC does not always turn the
// portable form into minps / maxps; it then costs a compare and a blend).
static inline vf vmin(vf a, vf b) {
#if defined(A2I_AVX2)
  return __builtin_ia32_minps256(a, b);
#elif defined(A2I_SSE2)
  return __builtin_ia32_minps(a, b);
#else
  return a < b ? a : b;
#endif
}
static inline vf vmax(vf a, vf b) {
#if defined(A2I_AVX2)
  return __builtin_ia32_maxps256(a, b);
#elif defined(A2I_SSE2)
  return __builtin_ia32_maxps(a, b);
#else
  return a > b ? a : b;
#endif
}
// Round to the nearest integer, ties to even (what torch.round does).
static inline vi round_i32(vf y) {
#if defined(A2I_AVX2)
  return __builtin_ia32_cvtps2dq256(y);  // the default MXCSR mode: nearest, ties to even
#elif defined(A2I_SSE2)
  return __builtin_ia32_cvtps2dq(y);
#else
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds half to even
  return __builtin_convertvector((y + magic) - magic, vi);
#endif
}
#undef A2I_OPAQUE
#if defined(A2I_SIM)
#define A2I_OPAQUE(v) (void)0  // a 64-byte vector is two ymm registers there: no single register holds it
#elif defined(__x86_64__) && defined(__GNUC__)
#define A2I_OPAQUE(v) asm volatile("" : "+x"(v))
#elif defined(__aarch64__) && defined(__GNUC__)
#define A2I_OPAQUE(v) asm volatile("" : "+w"(v))
#else
#define A2I_OPAQUE(v) (void)0
#endif
// A broadcast the compiler must materialise where it is used: without this GCC hoists
// every weight broadcast of a tile to the top of the loop and spills accumulators instead.
static inline vf bcast(const float* p) { vf v = splat(*p); A2I_OPAQUE(v); return v; }

static inline vf act_leaky(vf x, float slope) {
  if (slope >= 0.f && slope <= 1.f) return vmax(x, x * slope);  // the same for these slopes, one op less
  return x > 0.f ? x : x * slope;
}

// 1 / q: AVX-512's 14-bit estimate and one Newton step (28 bits), else a division (on AVX2
// the divider runs beside the FMA units: the last layer measured 5.7 ms with it against
// 6.3 ms with rcpps + a Newton step, batch 64, 2 threads, EPYC Zen 3).
static inline vf recip(vf q) {
#if defined(A2I_RCP14)
  vf r = __builtin_ia32_rcp14ps512_mask(q, vf{}, (unsigned short)0xFFFF);
  return r * (2.f - q * r);  // 14 -> 28 bits
#elif defined(A2I_SIM)
  // avx512sim: rcp14 emulated as 1 / q cut to 14 mantissa bits (its documented error is < 2^-14), same Newton step
  vf r = 1.f / q;
  r = (vf)((vi)r & ((vi){} + (int)0xFFFFFE00));
  return r * (2.f - q * r);
#else
  return 1.f / q;
#endif
}

// Rational tanh approximation (Eigen's ptanh_float, max error a few ulp in float32).
static inline vf vtanh(vf x) {
  const vf lim = splat(7.90531110763549805f);
  x = vmax(vmin(x, lim), -lim);
  const vf x2 = x * x;
  vf p = splat(-2.76076847742355e-16f);
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  vf q = splat(1.19825839466702e-06f);
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  vf y = p * recip(q);
  const vf small = splat(0.0004f);
  return vmax(x, -x) < small ? x : y;
}

// [-1, 1] -> 0..255 as integers, exactly like ((clamp(x,-1,1) + 1) * 127.5).round()
static inline vi to_u8_levels(vf t) {
  t = vmax(vmin(t, splat(1.f)), splat(-1.f));
  return round_i32((t + 1.f) * 127.5f);
}

// round((clamp(tanh(x), -1, 1) + 1) * 127.5) in one step, for the uint8 image. Beyond
// |x| = 3.2 every level is 0 or 255 (tanh(3.2) = 0.99668 -> 254.58), so x is clamped there
// and tanh is a [7/6] rational minimax fit on [-3.2, 3.2] (|error| < 3e-7 in float32, the
// 127.5 folded into the numerator): a level can differ from eager's only where eager's value
// lies within 4e-5 of a rounding boundary, and then by one. Half as many operations as
// vtanh + to_u8_levels, which the last layer of a 256x256 image spends most of its time in.
static inline vi tanh_levels(vf x) {
  x = vmax(vmin(x, splat(3.2f)), splat(-3.2f));
  const vf x2 = x * x;
  vf p = splat(127.5f * 0.001831823888992747f);
  p = p * x2 + 127.5f * 0.11910947429133951f;
  p = p * x2 + 127.5f * 0.9999997649095197f;
  p = p * x;
  vf q = splat(7.922156985679693e-05f);
  q = q * x2 + 0.01931440014165964f;
  q = q * x2 + 0.4524415065816095f;
  q = q * x2 + 1.f;
  return round_i32(p * recip(q) + 127.5f);
}

static inline vf apply_act(vf y, int act, float slope) {
  if (act == 1) return act_leaky(y, slope);
  if (act == 2) return vtanh(y);
  return y;
}

// zip_lo(e, o) = e0 o0 e1 o1 ... (first half), zip_hi the second half: the even and odd
// output columns of one input block, interleaved into image order.
#if A2I_VBYTES == 64
#define A2I_ZIP_LO {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23}
#define A2I_ZIP_HI {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31}
#elif A2I_VBYTES == 32
#define A2I_ZIP_LO {0, 8, 1, 9, 2, 10, 3, 11}
#define A2I_ZIP_HI {4, 12, 5, 13, 6, 14, 7, 15}
#elif A2I_VBYTES == 16
#define A2I_ZIP_LO {0, 4, 1, 5}
#define A2I_ZIP_HI {2, 6, 3, 7}
#else
#error "A2I_VBYTES must be 16, 32 or 64"
#endif
static inline vf zip_lo(vf e, vf o) { const vi idx = A2I_ZIP_LO; return __builtin_shuffle(e, o, idx); }
static inline vf zip_hi(vf e, vf o) { const vi idx = A2I_ZIP_HI; return __builtin_shuffle(e, o, idx); }
#undef A2I_ZIP_LO
#undef A2I_ZIP_HI

// VL pixels of 4 bytes (R | G << 8 | B << 16) -> 3 * VL bytes RGB at dst: a byte shuffle
// inside each 16-byte lane (pshufb), then a dword shuffle that joins the 12-byte runs. With
// `room` the caller guarantees that the VL bytes after them may be written (the next store
// of the same row overwrites them), so one full-width store does; else exactly 3 * VL bytes.
static inline void store_rgb(unsigned char* dst, vi px, bool room) {
#if A2I_VBYTES == 64
  const vb in_lane = {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 3, 7, 11, 15,
                      16, 17, 18, 20, 21, 22, 24, 25, 26, 28, 29, 30, 19, 23, 27, 31,
                      32, 33, 34, 36, 37, 38, 40, 41, 42, 44, 45, 46, 35, 39, 43, 47,
                      48, 49, 50, 52, 53, 54, 56, 57, 58, 60, 61, 62, 51, 55, 59, 63};
  const vi join = {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 3, 7, 11, 15};
  const vi packed = __builtin_shuffle((vi)__builtin_shuffle((vb)px, in_lane), join);
#elif A2I_VBYTES == 32
  const vb in_lane = {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 3, 7, 11, 15,
                      16, 17, 18, 20, 21, 22, 24, 25, 26, 28, 29, 30, 19, 23, 27, 31};
  const vi join = {0, 1, 2, 4, 5, 6, 3, 7};
  const vi packed = __builtin_shuffle((vi)__builtin_shuffle((vb)px, in_lane), join);
#else
  const vb in_lane = {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 3, 7, 11, 15};
  const vi packed = (vi)__builtin_shuffle((vb)px, in_lane);
#endif
  if (room) {
    __builtin_memcpy(dst, &packed, sizeof(vi));
    return;
  }
  // exactly 3 * VL bytes, in whole 16- and 8-byte pieces where the width allows
  typedef int v4i __attribute__((vector_size(16)));
  long done = 0;
  for (; done + 16 <= 3 * VL; done += 16) {
    v4i part;
    __builtin_memcpy(&part, (const char*)&packed + done, 16);
    __builtin_memcpy(dst + done, &part, 16);
  }
  for (; done + 4 <= 3 * VL; done += 4) __builtin_memcpy(dst + done, (const char*)&packed + done, 4);
}

// ---------------------------------------------------------------------------------
// Pixel-vectorised layer: planar padded input [cin][H+2][W+2], W % VL == 0.
// Vectors run along the image row; a tile is one output row oy, COB output channels and
// NB blocks of VL input columns (2 * VL output columns): 2 * COB * NB accumulators for the
// even (E) and odd (O) output columns.

// Both column parities at once (32-register files): per input channel and tap row, 3 * NB
// input vectors and 4 * COB weights feed 8 * COB * NB FMAs.
template <int COB, int NB>
static inline void pix_acc_both(const PixLayer& L, int py, int m, int r0, int r1, int co0, int n0,
                                vf (&E)[NB][COB], vf (&O)[NB][COB]) {
  const long S = (long)L.cin * L.coutp;
  for (int b = 0; b < NB; ++b)
    for (int c = 0; c < COB; ++c) E[b][c] = O[b][c] = splat(L.bias[co0 + c]);  // the bias is the start
  for (int r = r0; r < r1; ++r) {
    const int iy = m - 1 + py + r;                                // padded row iy + 1
    const float* xrow = L.X + (long)(iy + 1) * L.prs + n0;        // padded col n0 = ix n0 - 1
    const float* wbase = L.Wp + (long)((py * 2 + 0) * 2 + r) * 2 * S + co0;
    for (int ci = 0; ci < L.cin; ++ci) {
      const float* xp = xrow + (long)ci * L.ps;
      const float* wp = wbase + (long)ci * L.coutp;
      vf l0[NB], l1[NB], l2[NB];
      for (int b = 0; b < NB; ++b) {
        l0[b] = loadu(xp + VL * b);
        l1[b] = loadu(xp + VL * b + 1);
        l2[b] = loadu(xp + VL * b + 2);
      }
      for (int c = 0; c < COB; ++c) {
        const float w00 = wp[c], w01 = wp[c + S], w10 = wp[c + 4 * S], w11 = wp[c + 5 * S];
        for (int b = 0; b < NB; ++b) {
          E[b][c] += l0[b] * w00;  // one FMA each: `E += a*b + c*d` would cost mul+fma+add
          E[b][c] += l1[b] * w01;
          O[b][c] += l1[b] * w10;
          O[b][c] += l2[b] * w11;
        }
      }
    }
  }
}

// One column parity PX at a time (16-register files): COB * NB accumulators, 2 * NB input
// vectors and one weight broadcast live at once, so nothing spills; per input channel and
// tap row 2 * NB loads and 2 * COB broadcasts feed 2 * COB * NB FMAs.
template <int COB, int NB, int PX>
static inline void pix_acc_one(const PixLayer& L, int py, int m, int r0, int r1, int co0, int n0, vf (&A)[NB][COB]) {
  const long S = (long)L.cin * L.coutp;
  for (int b = 0; b < NB; ++b)
    for (int c = 0; c < COB; ++c) A[b][c] = splat(L.bias[co0 + c]);  // the bias is the start
  for (int r = r0; r < r1; ++r) {
    const int iy = m - 1 + py + r;
    const float* xrow = L.X + (long)(iy + 1) * L.prs + n0 + PX;
    const float* wbase = L.Wp + (long)((py * 2 + PX) * 2 + r) * 2 * S + co0;
    for (int ci = 0; ci < L.cin; ++ci) {
      const float* xp = xrow + (long)ci * L.ps;
      const float* wp = wbase + (long)ci * L.coutp;
      vf la[NB], lb[NB];
      for (int b = 0; b < NB; ++b) {
        la[b] = loadu(xp + VL * b);
        lb[b] = loadu(xp + VL * b + 1);
      }
      for (int c = 0; c < COB; ++c) {
        const vf w0 = bcast(wp + c);
        for (int b = 0; b < NB; ++b) A[b][c] += la[b] * w0;
        const vf w1 = bcast(wp + c + S);
        for (int b = 0; b < NB; ++b) A[b][c] += lb[b] * w1;
      }
    }
  }
}

template <int COB, int NB>
static inline void pix_tile(const PixLayer& L, int oy, int co0, int n0) {
  const int py = oy & 1, m = oy >> 1;
  // tap rows whose input row is inside the image (the others read the zero border)
  const int r0 = m - 1 + py < 0 ? 1 : 0, r1 = m + py >= L.H ? 1 : 2;
  vf E[NB][COB], O[NB][COB];
  if constexpr (NREGS >= 32) {
    pix_acc_both<COB, NB>(L, py, m, r0, r1, co0, n0, E, O);
  } else {
    pix_acc_one<COB, NB, 0>(L, py, m, r0, r1, co0, n0, E);
    pix_acc_one<COB, NB, 1>(L, py, m, r0, r1, co0, n0, O);
  }
  if (L.U) {  // final uint8 HWC image, COB == cout == 3
    for (int b = 0; b < NB; ++b) {
      // levels of the even (e) and odd (o) columns, packed R | G << 8 | B << 16 per pixel,
      // then interleaved into image order: one zip per 8 pixels instead of one per channel
      vi pe = vi{}, po = vi{};
      for (int c = 0; c < COB; ++c) {
        vi qe, qo;
        if (L.act == 2) {
          qe = tanh_levels(E[b][c]);
          qo = tanh_levels(O[b][c]);
        } else {
          qe = to_u8_levels(apply_act(E[b][c], L.act, L.slope));
          qo = to_u8_levels(apply_act(O[b][c], L.act, L.slope));
        }
        pe |= qe << (8 * c);
        po |= qo << (8 * c);
      }
      const vi q[2] = {(vi)zip_lo((vf)pe, (vf)po), (vi)zip_hi((vf)pe, (vf)po)};
      unsigned char* dst = L.U + ((long)oy * L.urs) + (long)(2 * (n0 + VL * b)) * 3;
      const bool last = n0 + VL * (b + 1) >= L.W;  // the row's last block: nothing of this row after it
      for (int h = 0; h < 2; ++h) store_rgb(dst + 3 * VL * h, q[h], h == 0 || !last);
    }
    return;
  }
  for (int b = 0; b < NB; ++b) {
    for (int c = 0; c < COB; ++c) {
      vf e = apply_act(E[b][c], L.act, L.slope);
      vf o = apply_act(O[b][c], L.act, L.slope);
      float* dst = L.O + (long)(co0 + c) * L.ocs + (long)(oy + L.opad) * L.ors + L.opad + 2 * (n0 + VL * b);
      storeu(dst, zip_lo(e, o));
      storeu(dst + VL, zip_hi(e, o));
    }
  }
}

template <int COB, int NB>
static inline void pix_row_cb(const PixLayer& L, int oy, int co0) {
  const int nblocks = L.W / VL;
  int blk = 0;
  for (; blk + NB <= nblocks; blk += NB) pix_tile<COB, NB>(L, oy, co0, VL * blk);
  for (; blk < nblocks; ++blk) pix_tile<COB, 1>(L, oy, co0, VL * blk);
}

// Blocks per tile for COB channels: as many (at most 4) as keep the accumulators, the input
// vectors and a weight in the register file: 2*COB*NB + 3*NB + 1 for both parities at
// once (32 registers), COB*NB + 2*NB + 1 for one parity at a time (16 registers).
template <int COB>
constexpr int pix_nb() {
  int nb = 4;
  while (nb > 1 && (NREGS >= 32 ? 2 * COB * nb + 3 * nb + 1 : COB * nb + 2 * nb + 1) > NREGS) --nb;
  return nb;
}
constexpr int PIX_COB = 4;  // channels per tile of a float layer

static void pix_rows(const PixLayer& L, int oy0, int oy1) {
  for (int oy = oy0; oy < oy1; ++oy) {
    if (L.U) {  // all three channels in one pass (interleaved store)
      pix_row_cb<3, pix_nb<3>()>(L, oy, 0);
      continue;
    }
    int co0 = 0;
    for (; co0 + PIX_COB <= L.cout; co0 += PIX_COB) pix_row_cb<PIX_COB, pix_nb<PIX_COB>()>(L, oy, co0);
    switch (L.cout - co0) {
      case 3: pix_row_cb<3, pix_nb<3>()>(L, oy, co0); break;
      case 2: pix_row_cb<2, pix_nb<2>()>(L, oy, co0); break;
      case 1: pix_row_cb<1, pix_nb<1>()>(L, oy, co0); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------------
// GEMM-like layer: padded NHWC input [img][H+2][W+2][cin]. For one output parity the
// K = 2 rows x (2 * cin) inputs of an output pixel are two contiguous runs, so a tile of
// MR output pixels x VL*NV output channels is a register-blocked matrix product:
// MR * NV accumulators, NV weight vectors and one broadcast A value in registers.

constexpr int gemm_mr_max_c(int nv) {
  const int m = (NREGS - 2 - nv) / nv;
  return m > 12 ? 12 : (m < 1 ? 1 : m);
}
constexpr int GEMM_NV_MAX = NREGS >= 32 ? 4 : 2;

template <int MR, int NV>
static inline void gemm_tile(const GemmLayer& L, const GemmTile& T) {
  const long ldw = L.coutp;
  const long wrow = 2L * L.cin * ldw;  // packed weights of tap row r + 1 = tap row r + wrow
  vf acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vf{};
  for (int r = 0; r < T.nr; ++r) {
    const float* a = T.a + r * L.rs_in;
    const float* w = T.w + r * wrow;
    for (int k = 0; k < T.kk; ++k) {
      vf bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = loadu(w + (long)k * ldw + VL * v);
      for (int i = 0; i < MR; ++i) {
        const vf av = splat(a[i * T.as + k]);
        for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
      }
    }
  }
  const int nvalid = L.cout - T.co0 < VL * NV ? L.cout - T.co0 : VL * NV;
  for (int i = 0; i < T.mr; ++i) {
    float tmp[VL * NV];
    for (int v = 0; v < NV; ++v) {
      vf y = acc[i][v] + loadu(L.bias + T.co0 + VL * v);
      if (L.act == 1) y = act_leaky(y, L.slope);
      if (L.act == 2) y = vtanh(y);
      storeu(tmp + VL * v, y);
    }
    if (L.U) {
      unsigned char* u = T.u + i * T.us;
      for (int c = 0; c < nvalid; ++c) {
        float t = tmp[c] < -1.f ? -1.f : (tmp[c] > 1.f ? 1.f : tmp[c]);
        float y = ((t + 1.f) * 127.5f + 12582912.0f) - 12582912.0f;
        u[(T.co0 + c)] = (unsigned char)(int)y;
      }
    } else {
      float* o = T.o + i * T.os + (long)T.co0 * L.ocs;
      if (L.ocs == 1 && nvalid == VL * NV) {
        for (int v = 0; v < NV; ++v) storeu(o + VL * v, loadu(tmp + VL * v));
      } else {
        for (int c = 0; c < nvalid; ++c) o[c * L.ocs] = tmp[c];
      }
    }
  }
}

// T.mr in [1, MRMAX] -> the tile compiled for exactly that many rows.
template <int NV, int MR = 1>
static inline void gemm_tile_mr(const GemmLayer& L, const GemmTile& T) {
  if constexpr (MR < gemm_mr_max_c(NV)) {
    if (T.mr > MR) return gemm_tile_mr<NV, MR + 1>(L, T);
  }
  gemm_tile<MR, NV>(L, T);
}

static void gemm_tiles(const GemmLayer& L, const GemmTile* tiles, long n) {
  for (long t = 0; t < n; ++t) {
    const int nv = tiles[t].nv;
    if (GEMM_NV_MAX >= 4 && nv >= 4) gemm_tile_mr<GEMM_NV_MAX>(L, tiles[t]);
    else if (nv >= 2) gemm_tile_mr<2>(L, tiles[t]);
    else gemm_tile_mr<1>(L, tiles[t]);
  }
}

static int gemm_mr_max(int nv) { return gemm_mr_max_c(nv >= 4 ? GEMM_NV_MAX : (nv >= 2 ? 2 : 1)); }
