// Plain-data descriptions of one layer / one tile, shared by the op code (a2i_ops.cpp)
// and the per-instruction-set kernel variants (kernels.cpp + kernels_impl.h).
#pragma once
#include <cstdint>

namespace a2i {

// Pixel-vectorised layer: planar padded input, output planar (float) or HWC uint8.
struct PixLayer {
  const float* X;     // input [cin][H+2][W+2], zero border
  long ps, prs;       // input plane stride, row stride
  int H, W, cin, cout;
  const float* Wp;    // packed weights [2][2][2][2][cin][coutp]
  long coutp;
  const float* bias;  // [>= cout]
  int act;            // 0 none, 1 leaky relu, 2 tanh
  float slope;
  float* O;           // float output: O[co*ocs + (oy+opad)*ors + ox+opad]
  long ocs, ors;
  int opad;
  unsigned char* U;   // or uint8 output: U[oy*urs + ox*3 + co] (cout == 3), O unused
  long urs;
};

// GEMM-like layer: padded NHWC input.
struct GemmLayer {
  long rs_in;         // input row stride (floats), tap row 1 = tap row 0 + rs_in
  int cin, cout;
  long coutp;
  const float* bias;  // padded to coutp
  int act;
  float slope;
  long ocs;           // output channel stride (1 for NHWC, plane size for planar)
  bool U;             // uint8 HWC output
};

struct GemmTile {
  const float* a;     // A of tile row 0, tap row 0, k = 0
  long as;            // A stride between tile rows
  const float* w;     // packed weights of the parity, tap row 0, column co0
  int co0, mr, nv;
  float* o;           // output of tile row 0 at channel 0
  long os;
  unsigned char* u;   // uint8 output of tile row 0 at channel 0
  long us;
};

inline int gemm_mr_max(int nv) { return nv == 4 ? 6 : 12; }

struct Kernels {
  const char* isa;
  void (*pix_rows)(const PixLayer&, int oy0, int oy1);
  void (*gemm_tiles)(const GemmLayer&, const GemmTile*, long n);
};

// The best variant this CPU supports (A2I_ISA=avx512|avx2|generic forces one).
const Kernels& kernels();

}  // namespace a2i
