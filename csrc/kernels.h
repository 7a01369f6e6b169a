// Plain-data descriptions of one layer / one tile, shared by the op code (a2i_ops.cpp)
// and the per-instruction-set kernel variants (kernels.cpp + kernels_impl.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace a2i {

// Pixel-vectorised layer: planar padded input (W a multiple of Kernels::vl), output planar
// (float) or HWC uint8.
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
  const float* a;     // A of tile row 0 at its first tap row and first k
  long as;            // A stride between tile rows
  const float* w;     // packed weights of the parity at the same tap row and k, column co0
  int co0, mr, nv;    // first output channel, rows (output pixels), vectors of channels
  int nr, kk;         // tap rows (1 or 2) and k per tap row (cin or 2 * cin) the tile reads
  float* o;           // output of tile row 0 at channel 0
  long os;
  unsigned char* u;   // uint8 output of tile row 0 at channel 0
  long us;
};

// One compiled variant: its name, register file and kernels. Tile shapes follow the
// register file (kernels_impl.h); the op code (a2i_ops.cpp) asks for them here.
struct Kernels {
  const char* isa;
  int vl;             // floats per vector register
  int nregs;          // vector registers
  int nv_max;         // GEMM tiles: most channel vectors per tile
  int (*gemm_mr_max)(int nv);  // GEMM tiles: most rows for nv channel vectors
  void (*pix_rows)(const PixLayer&, int oy0, int oy1);
  void (*gemm_tiles)(const GemmLayer&, const GemmTile*, long n);
};

// The variant in use: the best this CPU runs, unless A2I_ISA or set_isa() chose another.
const Kernels& kernels();
// Every variant this CPU runs, best first.
std::vector<const Kernels*> supported_kernels();
// Use variant `name` from now on; false (and nothing changes) when this CPU cannot run it.
bool set_kernels(const std::string& name);

}  // namespace a2i
