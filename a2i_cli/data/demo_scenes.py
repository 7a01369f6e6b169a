"""Procedural scene pictures for the demo dataset (see demo.py), drawn with numpy.

`draw_scene(class2, p, style, layout_seed, rng, size)` paints one frame. p = (a, b, light)
are the second's scene parameters in [0, 1], the same ones that set the audio
(demo_audio.py); style is the source folder's 8 fixed numbers (colours, horizon, ...);
layout_seed fixes what does not move within a folder (buildings, trees, tables); rng gives
the per-frame details (which windows are lit, where the cars are). Coordinates are
fractions of the image side, so any size works. Shapes are drawn on bounding-box slices,
never pixel by pixel.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

C = np.asarray  # colour shorthand


def lerp(c0, c1, t):
    return (1 - t) * C(c0, np.float32) + t * C(c1, np.float32)


class Canvas:
    def __init__(self, size: int):
        self.s = size
        self.img = np.zeros((size, size, 3), np.float32)  # (S, S, 3) in [0, 1]
        self.g = (np.arange(size, dtype=np.float32) + 0.5) / size  # pixel centres as fractions

    def px(self, f) -> int:
        return int(np.clip(round(float(f) * self.s), 0, self.s))

    def _blend(self, sl, mask, color, alpha):
        region = self.img[sl]
        m = mask[..., None] * np.float32(alpha)
        region += m * (C(color, np.float32) - region)

    def vgrad(self, y0, y1, top, bottom):
        a, b = self.px(y0), self.px(y1)
        if b > a:
            t = np.linspace(0, 1, b - a, dtype=np.float32)[:, None, None]
            self.img[a:b] = (1 - t) * C(top, np.float32) + t * C(bottom, np.float32)

    def rect(self, x0, y0, x1, y1, color, alpha=1.0):
        ya, yb, xa, xb = self.px(y0), self.px(y1), self.px(x0), self.px(x1)
        if yb > ya and xb > xa:
            self.img[ya:yb, xa:xb] += np.float32(alpha) * (C(color, np.float32) - self.img[ya:yb, xa:xb])

    def ellipse(self, cx, cy, rx, ry, color, alpha=1.0, soft=False):
        ya, yb, xa, xb = self.px(cy - ry), self.px(cy + ry) + 1, self.px(cx - rx), self.px(cx + rx) + 1
        if yb <= ya or xb <= xa:
            return
        yy, xx = self.g[ya:yb, None], self.g[None, xa:xb]
        d = ((xx - cx) / max(rx, 1e-6)) ** 2 + ((yy - cy) / max(ry, 1e-6)) ** 2
        mask = np.clip(1 - d, 0, 1) if soft else (d <= 1).astype(np.float32)
        self._blend((slice(ya, yb), slice(xa, xb)), mask, color, alpha)

    def below(self, curve, color, alpha=1.0, y_end=1.0):
        """Fill every pixel under `curve` (S,) (y fractions per column) down to y_end."""
        mask = (self.g[:, None] > curve[None, :]) & (self.g[:, None] < y_end)
        self._blend(slice(None), mask.astype(np.float32), color, alpha)

    def band(self, curve, half, color, alpha=1.0):
        mask = np.clip(1 - np.abs(self.g[:, None] - curve[None, :]) / max(half, 0.5 / self.s), 0, 1)
        self._blend(slice(None), mask, color, alpha)

    def stroke(self, xc_of_y, half, y0, y1, color, alpha=1.0):
        """A vertical-ish line: x centre as a function of y (array over rows y0..y1)."""
        ya, yb = self.px(y0), self.px(y1)
        if yb <= ya:
            return
        xc = xc_of_y(self.g[ya:yb])[:, None]
        mask = (np.abs(self.g[None, :] - xc) < half).astype(np.float32)
        self._blend(slice(ya, yb), mask, color, alpha)

    def texture(self, rng, amount, cells=24, y0=0.0, y1=1.0):
        """Multiply a horizontal slab by smooth grey noise 1 +- amount."""
        a, b = self.px(y0), self.px(y1)
        if b <= a:
            return
        low = rng.standard_normal((cells, cells)).astype(np.float32)
        up = np.asarray(Image.fromarray(low, mode="F").resize((self.s, self.s), Image.BILINEAR))[a:b]
        self.img[a:b] *= 1 + amount * up[..., None]

    def cells(self, x0, y0, x1, y1, nx, ny, filled, colors, gap=0.15, alpha=1.0):
        """A grid of nx x ny cells; `filled` (ny, nx) bool, `colors` (ny, nx, 3)."""
        ya, yb, xa, xb = self.px(y0), self.px(y1), self.px(x0), self.px(x1)
        if yb <= ya or xb <= xa:
            return
        iy = ((np.arange(ya, yb) - ya) * ny) // (yb - ya)
        ix = ((np.arange(xa, xb) - xa) * nx) // (xb - xa)
        fy = ((np.arange(ya, yb) - ya) * ny / (yb - ya)) % 1
        fx = ((np.arange(xa, xb) - xa) * nx / (xb - xa)) % 1
        inside = ((fy > gap)[:, None] & (fx > gap)[None, :]).astype(np.float32)
        mask = inside * filled[iy][:, ix]
        col = colors[iy][:, ix]  # (h, w, 3)
        region = self.img[ya:yb, xa:xb]
        region += (mask * np.float32(alpha))[..., None] * (col - region)

    def person(self, cx, cy, h, shirt, skin, alpha=1.0):
        """A seated/standing figure: torso ellipse below a head; cy is the head centre."""
        self.ellipse(cx, cy + 0.9 * h, 0.45 * h, 0.75 * h, shirt, alpha)
        self.ellipse(cx, cy, 0.3 * h, 0.33 * h, skin, alpha)

    def light(self, light, tint=(1.0, 1.0, 1.0), lo=0.4, hi=1.1):
        self.img *= (lo + (hi - lo) * light) * C(tint, np.float32)

    def to_uint8(self, rng) -> np.ndarray:
        grain = rng.standard_normal((self.s, self.s, 1)).astype(np.float32) * 0.012
        return (np.clip(self.img + grain, 0, 1) * 255 + 0.5).astype(np.uint8)


SKINS = C([(0.96, 0.80, 0.69), (0.87, 0.67, 0.52), (0.63, 0.45, 0.33), (0.42, 0.29, 0.21)], np.float32)
BRIGHT = C([(0.9, 0.15, 0.15), (0.95, 0.75, 0.1), (0.15, 0.55, 0.9), (0.2, 0.75, 0.3),
            (0.95, 0.5, 0.1), (0.7, 0.25, 0.75), (0.95, 0.95, 0.95), (0.1, 0.1, 0.12)], np.float32)


def sky(cv: Canvas, y1, light, style_t):
    dusk_top, dusk_bot = (0.25, 0.2, 0.45), (0.95, 0.55, 0.35)
    day_top, day_bot = lerp((0.25, 0.5, 0.9), (0.45, 0.65, 0.95), style_t), (0.75, 0.87, 1.0)
    cv.vgrad(0, y1, lerp(dusk_top, day_top, light), lerp(dusk_bot, day_bot, light))


def waves(cv, y, amp, k, phase):
    return y + amp * np.sin(2 * np.pi * k * cv.g + phase)


def beach(cv, a, b, light, u, lay, rng):  # a: surf, b: gulls
    hz = 0.34 + 0.1 * u[0]
    sky(cv, hz, light, u[1])
    for _ in range(lay.integers(1, 4)):
        cv.ellipse(rng.uniform(0.1, 0.9), rng.uniform(0.05, hz - 0.1), 0.12, 0.035, (0.97, 0.97, 0.97), 0.8, soft=True)
    cv.vgrad(hz, 1, lerp((0.05, 0.22, 0.42), (0.05, 0.35, 0.45), u[2]), lerp((0.1, 0.5, 0.6), (0.15, 0.6, 0.55), u[2]))
    shore = 0.6 + 0.06 * u[3] + 0.16 * a
    for i in range(2 + int(round(5 * a))):
        y = hz + (shore - hz) * (i + 1) / (3 + 5 * a) + rng.normal(0, 0.01)
        cv.band(waves(cv, y, 0.004 + 0.012 * a, rng.uniform(1, 3), rng.uniform(0, 6.3)), 0.003 + 0.012 * a, (0.95, 0.97, 1.0), 0.5 + 0.4 * a)
    sand = lerp((0.88, 0.78, 0.56), (0.8, 0.68, 0.5), u[4])
    edge = waves(cv, shore, 0.015, lay.uniform(0.5, 1.5), rng.uniform(0, 6.3))
    cv.below(edge - 0.02 - 0.07 * a, (0.93, 0.96, 0.98), 0.9)  # foam wash
    cv.below(edge, sand)
    cv.texture(rng, 0.08, 32, shore, 1)
    for _ in range(int(round(10 * b + rng.uniform(0, 1.5)))):
        x, y, w = rng.uniform(0.05, 0.95), rng.uniform(0.04, hz - 0.03), rng.uniform(0.015, 0.03)
        cv.ellipse(x - w / 2, y, w / 2, w / 6, (0.15, 0.15, 0.18))
        cv.ellipse(x + w / 2, y, w / 2, w / 6, (0.15, 0.15, 0.18))
    cv.light(light, lerp((1.0, 0.85, 0.75), (1, 1, 1), light))


def forest(cv, a, b, light, u, lay, rng):  # a: birdsong -> foliage, flowers; b: wind -> sway
    ground = 0.68 + 0.08 * u[0]
    sky(cv, ground, light, u[1])
    cv.vgrad(ground, 1, lerp((0.25, 0.4, 0.15), (0.35, 0.3, 0.15), u[2]), (0.2, 0.28, 0.1))
    cv.texture(rng, 0.15, 32, ground, 1)
    lean = (0.03 + 0.12 * b) * (1 if u[3] > 0.5 else -1) * rng.uniform(0.8, 1.2)
    nt = int(lay.integers(5, 9))
    xs, ws = lay.uniform(0.02, 0.98, nt), lay.uniform(0.012, 0.03, nt)
    bark = lerp((0.35, 0.22, 0.12), (0.45, 0.4, 0.35), u[4])
    for x, w in zip(xs, ws):
        cv.stroke(lambda y, x=x: x + lean * (1 - y / ground) ** 2, w, 0.0, ground + 0.02, bark)
    greens = [lerp((0.1, 0.35, 0.1), (0.3, 0.55, 0.15), t) for t in np.linspace(0, 1, 4)]
    blobs = lay.uniform(0, 1, (65, 4))  # the same trees in every second of a folder
    for i, (bx, by, br, bc) in enumerate(blobs[: int(10 + 55 * a)]):
        y = -0.05 + by * (ground - 0.07)
        x = bx + lean * (1 - y / ground) ** 2 + rng.normal(0, 0.004)
        cv.ellipse(x, y, 0.05 + 0.06 * br, 0.04 + 0.05 * br, greens[i % 4] * (0.8 + 0.3 * bc), 0.95)
    flowers = lay.uniform(0, 1, (45, 3))
    for fx, fy, fc in flowers[: int(45 * a)]:
        cv.ellipse(fx, ground + 0.02 + fy * (0.98 - ground), 0.01, 0.008, BRIGHT[int(fc * 6.99)])
    cv.light(light)


def city(cv, a, b, light, u, lay, rng):  # a: traffic -> cars; b: horns -> lit windows
    sky(cv, 0.75, light, u[1])
    cv.img[: cv.px(0.75)] *= np.float32(0.3 + 0.7 * light)
    x, walls = 0.0, []
    while x < 1:
        w = lay.uniform(0.08, 0.2)
        walls.append((x, w, lay.uniform(0.1, 0.5), lay.integers(0, 4)))
        x += w
    palette = C([(0.55, 0.55, 0.58), (0.6, 0.45, 0.35), (0.4, 0.45, 0.55), (0.7, 0.68, 0.6)], np.float32)
    p_lit = 0.05 + 0.85 * b
    for x, w, top, c in walls:
        cv.rect(x, top, x + w, 0.75, palette[c] * (0.6 + 0.4 * light))
        nx, ny = max(2, int(w * 30)), max(2, int((0.72 - top) * 28))
        lit = lay.random((ny, nx)) < p_lit + rng.normal(0, 0.05)
        dark = C((0.12, 0.14, 0.2), np.float32) + 0.35 * light
        col = np.where(lit[..., None], C((1.0, 0.85, 0.45), np.float32), dark)
        cv.cells(x + 0.01, top + 0.02, x + w - 0.01, 0.72, nx, ny, np.ones((ny, nx), np.float32), col, gap=0.35)
    cv.rect(0, 0.75, 1, 0.79, (0.6, 0.6, 0.6))
    cv.rect(0, 0.79, 1, 1, (0.22, 0.22, 0.24))
    for i in range(10):
        cv.rect(i / 10 + 0.02, 0.89, i / 10 + 0.07, 0.9, (0.9, 0.9, 0.9))
    for _ in range(int(round(14 * a + rng.uniform(0, 1)))):
        lane = rng.integers(0, 2)
        x, y, w = rng.uniform(-0.05, 0.95), 0.8 + 0.1 * lane + rng.uniform(0, 0.02), rng.uniform(0.1, 0.16)
        cv.rect(x, y + 0.015, x + w, y + 0.06, BRIGHT[rng.integers(0, 8)] * 0.9)
        cv.rect(x + 0.02, y, x + w - 0.03, y + 0.02, (0.3, 0.35, 0.45))
        cv.ellipse(x + 0.025, y + 0.06, 0.012, 0.012, (0.05, 0.05, 0.05))
        cv.ellipse(x + w - 0.025, y + 0.06, 0.012, 0.012, (0.05, 0.05, 0.05))
    cv.light(light, lo=0.55, hi=1.05)


def classroom(cv, a, b, light, u, lay, rng):  # a: chatter -> pupils; b: teacher -> writing on board
    wall = lerp(lerp((0.93, 0.9, 0.78), (0.78, 0.88, 0.8), u[0]), (0.75, 0.82, 0.92), u[1] * 0.6)
    cv.vgrad(0, 0.62, wall * 0.9, wall)
    cv.vgrad(0.62, 1, (0.6, 0.42, 0.25), (0.45, 0.3, 0.18))
    cv.rect(0.03, 0.1, 0.15, 0.45, lerp((0.95, 0.7, 0.4), (0.75, 0.9, 1.0), light))  # window
    board = lerp((0.15, 0.3, 0.2), (0.1, 0.1, 0.12), u[2])  # green or black chalkboard
    ink = (0.95, 0.95, 0.9)
    x0 = 0.22 + 0.06 * u[3]
    cv.rect(x0, 0.08, x0 + 0.6, 0.38, board)
    for i in range(int(round(10 * b))):
        y = 0.11 + 0.025 * i
        cv.rect(x0 + 0.03 + rng.uniform(0, 0.05), y, x0 + rng.uniform(0.25, 0.57), y + 0.008, ink)
    slots = [(0.12 + 0.19 * i + 0.03 * r, 0.5 + 0.15 * r, 0.8 + 0.2 * r) for r in range(3) for i in range(5)]
    order, shirts, skins = lay.permutation(len(slots)), lay.integers(0, 8, len(slots)), lay.integers(0, 4, len(slots))
    chosen = set(order[: int(round(14 * a + rng.uniform(0, 1)))].tolist())
    for k, (x, y, s) in enumerate(slots):
        if k in chosen:
            cv.person(x + rng.normal(0, 0.004), y - 0.07 * s, 0.07 * s, BRIGHT[shirts[k]], SKINS[skins[k]])
        cv.rect(x - 0.08 * s, y, x + 0.08 * s, y + 0.04 * s, (0.7, 0.52, 0.3))
        cv.rect(x - 0.07 * s, y + 0.04 * s, x - 0.06 * s, y + 0.12 * s, (0.3, 0.3, 0.3))
        cv.rect(x + 0.06 * s, y + 0.04 * s, x + 0.07 * s, y + 0.12 * s, (0.3, 0.3, 0.3))
    cv.light(light, lo=0.55, hi=1.05)


def football(cv, a, b, light, u, lay, rng):  # a: crowd roar -> crowd; b: whistle -> players
    sky(cv, 0.12, light, u[1])
    stand_top, stand_bot = 0.1, 0.42 + 0.06 * u[0]
    cv.vgrad(stand_top, stand_bot, (0.35, 0.35, 0.38), (0.5, 0.5, 0.52))
    nx, ny = max(8, cv.s // 4), max(4, int((stand_bot - stand_top) * cv.s / 4))
    team = BRIGHT[[int(u[2] * 5.99), int(u[3] * 5.99) + 1]]
    seat, pick, shade = lay.random((ny, nx)), lay.random((ny, nx)), lay.uniform(0.7, 1.0, (ny, nx, 1))
    fill = seat < 0.1 + 0.85 * a + rng.normal(0, 0.03)
    col = np.where((pick < 0.5 + 0.3 * (a - 0.5))[..., None], team[0], team[1]) * shade.astype(np.float32)
    cv.cells(0, stand_top, 1, stand_bot, nx, ny, fill.astype(np.float32), col, gap=0.2)
    cv.rect(0, stand_bot, 1, stand_bot + 0.02, (0.9, 0.9, 0.9))
    g0, g1 = (0.2, 0.55, 0.2), (0.25, 0.62, 0.25)
    for i in range(8):
        y0 = stand_bot + 0.02 + (1 - stand_bot) * i / 8
        cv.rect(0, y0, 1, y0 + (1 - stand_bot) / 8 + 0.002, g0 if i % 2 else g1)
    cv.rect(0.495, stand_bot + 0.02, 0.505, 1, (0.95, 0.95, 0.95))
    cv.ellipse(0.5, 0.75, 0.16, 0.1, (0.95, 0.95, 0.95))
    cv.ellipse(0.5, 0.75, 0.15, 0.09, g1)
    for i in range(int(round(2 + 12 * b))):
        x, y = rng.uniform(0.05, 0.95), rng.uniform(stand_bot + 0.08, 0.95)
        h = 0.03 + 0.04 * (y - stand_bot)
        cv.rect(x - h / 3, y - h, x + h / 3, y, team[i % 2])
        cv.ellipse(x, y - h * 1.2, h / 4, h / 4, SKINS[i % 4])
    cv.light(light, lo=0.5, hi=1.05)


def grocery(cv, a, b, light, u, lay, rng):  # a: scanner beeps -> stocked shelves; b: trolleys -> shoppers
    cv.vgrad(0, 0.1, (0.85, 0.85, 0.85), (0.75, 0.75, 0.78))
    for i in range(3):
        cv.rect(0.1 + 0.3 * i, 0.03, 0.25 + 0.3 * i, 0.05, (1.0, 1.0, 0.95))
    cv.vgrad(0.1, 0.82, (0.9, 0.9, 0.88), (0.8, 0.8, 0.78))
    frame = lerp((0.75, 0.75, 0.78), (0.85, 0.6, 0.35), u[0])
    cv.rect(0.02, 0.14, 0.98, 0.8, frame * 0.7)
    rows, nx = 5, 24
    stock = lay.random((rows, nx)) < 0.1 + 0.88 * a + rng.normal(0, 0.03)
    col = BRIGHT[lay.integers(0, 8, (rows, nx))] * lay.uniform(0.75, 1.0, (rows, nx, 1)).astype(np.float32)
    for r in range(rows):
        y = 0.16 + r * 0.128
        cv.cells(0.03, y, 0.97, y + 0.1, nx, 1, stock[r : r + 1].astype(np.float32), col[r : r + 1], gap=0.1)
        cv.rect(0.02, y + 0.1, 0.98, y + 0.115, frame)
    cv.vgrad(0.8, 1, (0.8, 0.8, 0.78), (0.65, 0.65, 0.62))
    for _ in range(int(round(5 * b + rng.uniform(0, 0.8)))):
        x, y = rng.uniform(0.08, 0.92), rng.uniform(0.62, 0.75)
        cv.rect(x - 0.05, y - 0.05, x + 0.05, y + 0.24, BRIGHT[rng.integers(0, 8)])
        cv.ellipse(x, y - 0.09, 0.04, 0.045, SKINS[rng.integers(0, 4)])
        tx = x + 0.07
        cv.rect(tx, y + 0.08, tx + 0.12, y + 0.17, (0.7, 0.72, 0.78), 0.8)
        cv.ellipse(tx + 0.02, y + 0.19, 0.012, 0.012, (0.1, 0.1, 0.1))
        cv.ellipse(tx + 0.1, y + 0.19, 0.012, 0.012, (0.1, 0.1, 0.1))
    cv.light(light, lo=0.6, hi=1.05)


def jungle(cv, a, b, light, u, lay, rng):  # a: insect buzz -> vines; b: rain -> mist
    cv.vgrad(0, 1, lerp((0.1, 0.3, 0.12), (0.15, 0.35, 0.1), u[0]), (0.05, 0.18, 0.06))
    cv.texture(rng, 0.35, 12)
    for lx, ly, lr, lc in lay.uniform(0, 1, (int(lay.integers(25, 40)), 4)):
        r = 0.04 + 0.06 * lr
        cv.ellipse(lx + rng.normal(0, 0.003), ly, r * 1.6, r * 0.6, lerp((0.05, 0.3, 0.08), (0.3, 0.55, 0.12), lc), 0.9)
    vine = lerp((0.3, 0.25, 0.1), (0.15, 0.35, 0.12), u[1])
    for x0, amp, k, ph, end in lay.uniform(0, 1, (27, 5))[: int(round(3 + 24 * a))]:
        cv.stroke(lambda y, x0=x0, amp=amp, k=k, ph=ph: x0 + (0.01 + 0.03 * amp) * np.sin(2 * np.pi * (1 + 3 * k) * y + 6.3 * ph),
                  0.006, 0, 0.5 + 0.5 * end, vine)
    if u[2] > 0.5:  # some folders: a stream at the bottom
        cv.rect(0, 0.85, 1, 1, (0.25, 0.35, 0.3), 0.8)
    mist = np.clip(0.05 + 0.65 * b * (1.1 - cv.g), 0, 1)[:, None, None]
    cv.img += mist * (C((0.85, 0.9, 0.88), np.float32) - cv.img)
    for _ in range(int(40 * b)):
        x, y = rng.uniform(0, 1), rng.uniform(0, 1)
        cv.rect(x, y, x + 1.5 / cv.s, y + 0.05, (0.9, 0.92, 0.95), 0.5)
    cv.light(light, lo=0.45, hi=1.1)


def restaurant(cv, a, b, light, u, lay, rng):  # a: clatter -> diners; b: music -> candles, warm glow
    wall = lerp((0.55, 0.2, 0.15), (0.7, 0.5, 0.3), u[0])
    cv.vgrad(0, 0.55, wall * 0.8, wall)
    cv.vgrad(0.55, 1, (0.45, 0.28, 0.15), (0.3, 0.18, 0.1))
    cv.texture(rng, 0.08, 24, 0.55, 1)
    for i in range(4):
        x = 0.15 + 0.23 * i
        cv.rect(x - 0.003, 0, x + 0.003, 0.12, (0.1, 0.1, 0.1))
        cv.ellipse(x, 0.13, 0.04, 0.025, (1.0, 0.85, 0.5))
    tables = [(0.2 + 0.3 * i + 0.1 * (r % 2) + 0.04 * u[1], 0.62 + 0.2 * r, 0.8 + 0.3 * r) for r in range(2) for i in range(3)]
    seats = [(t, side) for t in range(len(tables)) for side in (-1, 1)]
    order, shirts, skins = lay.permutation(len(seats)), lay.integers(0, 8, len(seats)), lay.integers(0, 4, len(seats))
    chosen = set(order[: int(round(12 * a + rng.uniform(0, 1)))].tolist())
    for k, (t, side) in enumerate(seats):
        if k in chosen:
            x, y, s = tables[t]
            cv.person(x + side * 0.1 * s, y - 0.09 * s, 0.06 * s, BRIGHT[shirts[k]], SKINS[skins[k]])
    glow = np.zeros((cv.s, cv.s), np.float32)
    candle = lay.random(len(tables))
    for (x, y, s), c in zip(tables, candle):
        cv.ellipse(x, y, 0.11 * s, 0.035 * s, (0.95, 0.93, 0.88))
        cv.rect(x - 0.01, y + 0.03 * s, x + 0.01, y + 0.12 * s, (0.2, 0.12, 0.08))
        if c < 0.15 + 0.8 * b:
            cv.rect(x - 0.005, y - 0.04 * s, x + 0.005, y - 0.005, (0.95, 0.95, 0.9))
            cv.ellipse(x, y - 0.05 * s, 0.007, 0.014, (1.0, 0.8, 0.3))
            glow += np.exp(-((cv.g[:, None] - y) ** 2 + (cv.g[None, :] - x) ** 2) / 0.01)
    cv.img += (0.25 + 0.35 * b) * glow[..., None] * C((1.0, 0.6, 0.2), np.float32)
    cv.light(light, (1.0, 0.9, 0.75), lo=0.5, hi=1.0)


def river(cv, a, b, light, u, lay, rng):  # a: flow -> bright, rippled water; b: wind -> sway
    sky(cv, 0.4, light, u[1])
    far = 0.3 + 0.08 * u[0]
    lean = (0.02 + 0.08 * b) * (1 if u[3] > 0.5 else -1)
    for _ in range(int(lay.integers(12, 20))):
        x, r = lay.uniform(0, 1), lay.uniform(0.04, 0.08)
        cv.ellipse(x + lean, far - r * 0.6, r, r * 1.2, lerp((0.1, 0.3, 0.1), (0.25, 0.45, 0.15), lay.uniform()))
    cv.rect(0, far, 1, far + 0.05, (0.3, 0.4, 0.2))
    near = 0.78 + 0.08 * u[2] - 0.05 * a
    deep = lerp((0.1, 0.25, 0.3), (0.25, 0.3, 0.2), u[4])
    cv.vgrad(far + 0.05, 1, deep * (0.9 + 0.6 * a), (deep + 0.35 * a) * 1.1)
    for _ in range(int(5 + 40 * a)):
        x, y = rng.uniform(-0.05, 1), rng.uniform(far + 0.06, near)
        cv.rect(x, y, x + rng.uniform(0.03, 0.1), y + 0.006, (0.9, 0.95, 1.0), 0.4 + 0.5 * a)
    cv.below(waves(cv, near, 0.02, lay.uniform(0.5, 2), lay.uniform(0, 6.3)), lerp((0.35, 0.5, 0.2), (0.45, 0.38, 0.25), u[5]))
    cv.texture(rng, 0.12, 32, near - 0.03, 1)
    for _ in range(int(lay.integers(10, 25))):
        x = lay.uniform(0, 1)
        cv.stroke(lambda y, x=x: x + 0.6 * lean * (1 - y), 0.004, near - 0.12, near + 0.05, (0.3, 0.45, 0.15))
    cv.light(light)


DRAWERS = {
    "BEACH": beach, "CITY": city, "CLASSROOM": classroom, "FOOTBALL-MATCH": football, "FOREST": forest,
    "GROCERY-STORE": grocery, "JUNGLE": jungle, "RESTAURANT": restaurant, "RIVER": river,
}


def draw_scene(class2: str, p, style, layout_seed, rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """One frame -> (size, size, 3) uint8 RGB."""
    cv = Canvas(size)
    DRAWERS[class2](cv, float(p[0]), float(p[1]), float(p[2]), np.asarray(style), np.random.default_rng(layout_seed), rng)
    return cv.to_uint8(rng)
