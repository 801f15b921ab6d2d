/**
 * The kernel's logo, drawn in code: a white "P" on a TypeScript-blue rounded
 * square, encoded as PNG (Jupyter wants logo-32x32.png and logo-64x64.png).
 */
import { crc32, deflateSync } from "node:zlib";

const BACKGROUND = [0x31, 0x78, 0xc6] as const;
const FOREGROUND = [0xff, 0xff, 0xff] as const;

/** The "P", 5 columns by 7 rows. */
const GLYPH = ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."];

/** The logo as a `size` x `size` PNG. */
export function logoPng(size: number): Buffer {
  const rgba = Buffer.alloc(size * size * 4);
  const radius = size * 0.2;
  // The glyph fills the middle 60% of the height, keeping its 5:7 shape.
  const cell = (size * 0.6) / GLYPH.length;
  const left = (size - cell * GLYPH[0]!.length) / 2;
  const top = (size - cell * GLYPH.length) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      if (!insideRoundedSquare(x + 0.5, y + 0.5, size, radius)) continue;
      const gx = Math.floor((x + 0.5 - left) / cell);
      const gy = Math.floor((y + 0.5 - top) / cell);
      const ink = GLYPH[gy]?.[gx] === "#";
      const [r, g, b] = ink ? FOREGROUND : BACKGROUND;
      rgba[i] = r;
      rgba[i + 1] = g;
      rgba[i + 2] = b;
      rgba[i + 3] = 0xff;
    }
  }
  return encodePng(size, size, rgba);
}

function insideRoundedSquare(x: number, y: number, size: number, r: number): boolean {
  const cx = Math.min(Math.max(x, r), size - r);
  const cy = Math.min(Math.max(y, r), size - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** An 8-bit RGBA PNG: signature, IHDR, one IDAT, IEND. */
function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
