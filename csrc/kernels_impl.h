// SIMD kernels of the fused stride-2 / kernel-4 / padding-1 transposed convolution.
//
// This header is included several times by kernels.cpp, each time inside a different
// `namespace` and `#pragma GCC target(...)` region (AVX-512, AVX2+FMA, baseline x86-64),
// so one source gives one compiled variant per instruction set; kernels.cpp picks the best
// the CPU supports at run time. It must only use GCC vector extensions (no intrinsics) and
// must not include system headers.
//
// Geometry. out[oy, ox] of ConvTranspose2d(k=4, s=2, p=1) for oy = 2m + py, ox = 2n + px
// reads the 2x2 input window rows iy = m - 1 + py + r, cols ix = n - 1 + px + j
// (r, j in {0, 1}) with kernel tap ky = 3 - py - 2r, kx = 3 - px - 2j. Inputs live in
// buffers with a one-pixel zero border, so every tap is in bounds.
//
// Packed weights Wp[py][px][r][j][ci][co] (co padded to coutp, a multiple of 16)
//   = w[ci][co][3 - py - 2r][3 - px - 2j]     (see a2i_cli/ops.py: pack_weight_ref)

typedef float vf __attribute__((vector_size(64)));  // 16 floats
typedef int vi __attribute__((vector_size(64)));
typedef unsigned char vb __attribute__((vector_size(64)));

static inline vf loadu(const float* p) { vf v; __builtin_memcpy(&v, p, 64); return v; }
static inline void storeu(float* p, vf v) { __builtin_memcpy(p, &v, 64); }
static inline vf splat(float x) { return vf{} + x; }

static inline vf act_leaky(vf x, float slope) { return x > 0.f ? x : x * slope; }

// Rational tanh approximation (Eigen's ptanh_float, max error a few ulp in float32).
static inline vf vtanh(vf x) {
  const vf lim = splat(7.90531110763549805f);
  x = x > lim ? lim : x;
  x = x < -lim ? -lim : x;
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
#ifdef A2I_HAVE_RCP14
  vf rq = __builtin_ia32_rcp14ps512_mask(q, vf{}, (unsigned short)0xFFFF);
  rq = rq * (2.f - q * rq);  // one Newton step: ~2^-28 relative error
  vf y = p * rq;
#else
  vf y = p / q;
#endif
  const vf small = splat(0.0004f);
  vf ax = x < 0.f ? -x : x;
  return ax < small ? x : y;
}

// [-1, 1] -> 0..255 as float integers, exactly like ((clamp(x,-1,1) + 1) * 127.5).round()
static inline vi to_u8_levels(vf t) {
  t = t > 1.f ? splat(1.f) : t;
  t = t < -1.f ? splat(-1.f) : t;
  vf y = (t + 1.f) * 127.5f;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds half to even
  y = (y + magic) - magic;
  return __builtin_convertvector(y, vi);
}

static inline vf apply_act(vf y, int act, float slope) {
  if (act == 1) return act_leaky(y, slope);
  if (act == 2) return vtanh(y);
  return y;
}

// ---------------------------------------------------------------------------------
// Pixel-vectorised layer: planar padded input [cin][H+2][W+2], W % 16 == 0.
// Vectors run along the image row; every output row oy, channel block and 16-wide
// column block is a small register-resident tile.

template <int COB, int NB>
static inline void pix_tile(const PixLayer& L, int oy, int co0, int n0) {
  const int py = oy & 1, m = oy >> 1;
  const long S = (long)L.cin * L.coutp;
  vf E[NB][COB], O[NB][COB];
  for (int b = 0; b < NB; ++b)
    for (int c = 0; c < COB; ++c) { E[b][c] = vf{}; O[b][c] = vf{}; }
  for (int r = 0; r < 2; ++r) {
    const int iy = m - 1 + py + r;                                // padded row iy + 1
    const float* xrow = L.X + (long)(iy + 1) * L.prs + n0;        // padded col n0 = ix n0 - 1
    const float* wbase = L.Wp + (long)((py * 2 + 0) * 2 + r) * 2 * S + co0;
    for (int ci = 0; ci < L.cin; ++ci) {
      const float* xp = xrow + (long)ci * L.ps;
      const float* wp = wbase + (long)ci * L.coutp;
      vf l0[NB], l1[NB], l2[NB];
      for (int b = 0; b < NB; ++b) {
        l0[b] = loadu(xp + 16 * b);
        l1[b] = loadu(xp + 16 * b + 1);
        l2[b] = loadu(xp + 16 * b + 2);
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
  const vi lo_idx = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
  const vi hi_idx = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  if (L.U) {  // final uint8 HWC image, COB == cout == 3
    for (int b = 0; b < NB; ++b) {
      vi q[2][COB];
      for (int c = 0; c < COB; ++c) {
        const float bias = L.bias[co0 + c];
        vf e = apply_act(E[b][c] + bias, L.act, L.slope);
        vf o = apply_act(O[b][c] + bias, L.act, L.slope);
        q[0][c] = to_u8_levels(__builtin_shuffle(e, o, lo_idx));
        q[1][c] = to_u8_levels(__builtin_shuffle(e, o, hi_idx));
      }
      unsigned char* dst = L.U + ((long)oy * L.urs) + (long)(2 * (n0 + 16 * b)) * 3;
      for (int h = 0; h < 2; ++h) {
        vi px = q[h][0];
        if (COB > 1) px |= q[h][1] << 8;
        if (COB > 2) px |= q[h][2] << 16;
        // 4 -> 3 bytes per pixel: a byte shuffle inside each 16-byte lane (pshufb), then
        // a dword shuffle (vpermd) that joins the four 12-byte runs.
        const vb in_lane = {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 3, 7, 11, 15,
                            16, 17, 18, 20, 21, 22, 24, 25, 26, 28, 29, 30, 19, 23, 27, 31,
                            32, 33, 34, 36, 37, 38, 40, 41, 42, 44, 45, 46, 35, 39, 43, 47,
                            48, 49, 50, 52, 53, 54, 56, 57, 58, 60, 61, 62, 51, 55, 59, 63};
        const vi join = {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 3, 7, 11, 15};
        vi packed = __builtin_shuffle((vi)__builtin_shuffle((vb)px, in_lane), join);
        __builtin_memcpy(dst + 48 * h, &packed, 48);
      }
    }
    return;
  }
  for (int b = 0; b < NB; ++b) {
    for (int c = 0; c < COB; ++c) {
      const float bias = L.bias[co0 + c];
      vf e = apply_act(E[b][c] + bias, L.act, L.slope);
      vf o = apply_act(O[b][c] + bias, L.act, L.slope);
      float* dst = L.O + (long)(co0 + c) * L.ocs + (long)(oy + L.opad) * L.ors + L.opad + 2 * (n0 + 16 * b);
      storeu(dst, __builtin_shuffle(e, o, lo_idx));
      storeu(dst + 16, __builtin_shuffle(e, o, hi_idx));
    }
  }
}

template <int COB, int NB>
static inline void pix_row_cb(const PixLayer& L, int oy, int co0) {
  const int nblocks = L.W / 16;
  int blk = 0;
  for (; blk + NB <= nblocks; blk += NB) pix_tile<COB, NB>(L, oy, co0, 16 * blk);
  for (; blk < nblocks; ++blk) pix_tile<COB, 1>(L, oy, co0, 16 * blk);
}

static void pix_rows(const PixLayer& L, int oy0, int oy1) {
  for (int oy = oy0; oy < oy1; ++oy) {
    if (L.U) {  // all three channels in one pass (interleaved store)
      pix_row_cb<3, 3>(L, oy, 0);
      continue;
    }
    int co0 = 0;
    for (; co0 + 4 <= L.cout; co0 += 4) pix_row_cb<4, 2>(L, oy, co0);
    switch (L.cout - co0) {
      case 3: pix_row_cb<3, 3>(L, oy, co0); break;
      case 2: pix_row_cb<2, 4>(L, oy, co0); break;
      case 1: pix_row_cb<1, 4>(L, oy, co0); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------------
// GEMM-like layer: padded NHWC input [img][H+2][W+2][cin]. For one output parity the
// K = 2 rows x (2 * cin) inputs of an output pixel are two contiguous runs, so a tile of
// MR output pixels x 16*NV output channels is a register-blocked matrix product.

template <int MR, int NV>
static inline void gemm_tile(const GemmLayer& L, const GemmTile& T) {
  const int K2 = 2 * L.cin;
  const long ldw = L.coutp;
  vf acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vf{};
  for (int r = 0; r < 2; ++r) {
    const float* a = T.a + r * L.rs_in;
    const float* w = T.w + (long)r * K2 * ldw;
    for (int k = 0; k < K2; ++k) {
      vf bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = loadu(w + (long)k * ldw + 16 * v);
      for (int i = 0; i < MR; ++i) {
        const vf av = splat(a[i * T.as + k]);
        for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
      }
    }
  }
  const int nvalid = L.cout - T.co0 < 16 * NV ? L.cout - T.co0 : 16 * NV;
  for (int i = 0; i < T.mr; ++i) {
    float tmp[16 * NV];
    for (int v = 0; v < NV; ++v) {
      vf y = acc[i][v] + loadu(L.bias + T.co0 + 16 * v);
      if (L.act == 1) y = act_leaky(y, L.slope);
      if (L.act == 2) y = vtanh(y);
      storeu(tmp + 16 * v, y);
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
      if (L.ocs == 1 && nvalid == 16 * NV) {
        for (int v = 0; v < NV; ++v) storeu(o + 16 * v, loadu(tmp + 16 * v));
      } else {
        for (int c = 0; c < nvalid; ++c) o[c * L.ocs] = tmp[c];
      }
    }
  }
}

template <int NV>
static inline void gemm_tile_mr(const GemmLayer& L, const GemmTile& T) {
  constexpr int MRMAX = NV == 4 ? 6 : 12;
  switch (T.mr) {
    case 1: gemm_tile<1, NV>(L, T); break;
    case 2: gemm_tile<2, NV>(L, T); break;
    case 3: gemm_tile<3, NV>(L, T); break;
    case 4: gemm_tile<4, NV>(L, T); break;
    case 5: gemm_tile<5, NV>(L, T); break;
    case 6: gemm_tile<6, NV>(L, T); break;
    default:
      if constexpr (MRMAX > 6) {
        switch (T.mr) {
          case 7: gemm_tile<7, NV>(L, T); break;
          case 8: gemm_tile<8, NV>(L, T); break;
          case 9: gemm_tile<9, NV>(L, T); break;
          case 10: gemm_tile<10, NV>(L, T); break;
          case 11: gemm_tile<11, NV>(L, T); break;
          default: gemm_tile<12, NV>(L, T); break;
        }
      }
      break;
  }
}

static void gemm_tiles(const GemmLayer& L, const GemmTile* tiles, long n) {
  for (long t = 0; t < n; ++t) {
    if (tiles[t].nv == 4) gemm_tile_mr<4>(L, tiles[t]);
    else if (tiles[t].nv == 2) gemm_tile_mr<2>(L, tiles[t]);
    else gemm_tile_mr<1>(L, tiles[t]);
  }
}
