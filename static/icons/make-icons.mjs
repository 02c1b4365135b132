// Draws the app icons (icon.svg, icon-192.png, icon-512.png, maskable-512.png) from one module
// grid, with no dependencies: node static/icons/make-icons.mjs
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NAVY = [0x0b, 0x25, 0x45];
const WHITE = [0xff, 0xff, 0xff];
const GOLD = [0xf5, 0xb7, 0x31];

// A QR-like motif: three hollow finder squares and a few data modules; 'G' is an accent module.
const GRID = [
  'XXX.X.XXX',
  'X.X...X.X',
  'XXX.X.XXX',
  '...X.X...',
  'X.XX.GX.X',
  '.X..XX.X.',
  'XXX.X..X.',
  'X.X..XX.X',
  'XXX.X.XX.',
];
const N = GRID.length;

/** Colour at (x, y) in unit coordinates, or null for transparent. */
function shape(x, y, { maskable }) {
  // background: rounded square (radius 22 %) or full bleed for maskable icons
  if (!maskable) {
    const r = 0.22;
    const cx = Math.min(Math.max(x, r), 1 - r);
    const cy = Math.min(Math.max(y, r), 1 - r);
    if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) return null;
  }
  // the motif sits in the middle; maskable icons keep it inside the 80 % safe circle
  const size = maskable ? 0.46 : 0.6;
  const origin = (1 - size) / 2;
  const gx = Math.floor(((x - origin) / size) * N);
  const gy = Math.floor(((y - origin) / size) * N);
  if (gx >= 0 && gy >= 0 && gx < N && gy < N) {
    const ch = GRID[gy][gx];
    if (ch === 'X') return WHITE;
    if (ch === 'G') return GOLD;
  }
  return NAVY;
}

function crc32(buf) {
  let c;
  let crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Renders an RGBA PNG, 4x4 supersampled so the rounded corners are smooth. */
function png(px, opts) {
  const ss = 4;
  const raw = Buffer.alloc((px * 4 + 1) * px);
  for (let y = 0; y < px; y++) {
    raw[y * (px * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < px; x++) {
      let r = 0; let g = 0; let b = 0; let a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = shape((x + (sx + 0.5) / ss) / px, (y + (sy + 0.5) / ss) / px, opts);
          if (c) { r += c[0]; g += c[1]; b += c[2]; a += 1; }
        }
      }
      const o = y * (px * 4 + 1) + 1 + x * 4;
      raw[o] = a ? Math.round(r / a) : 0;
      raw[o + 1] = a ? Math.round(g / a) : 0;
      raw[o + 2] = a ? Math.round(b / a) : 0;
      raw[o + 3] = Math.round((a / (ss * ss)) * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(px, 0);
  ihdr.writeUInt32BE(px, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function svg() {
  const size = 0.6 * 512;
  const origin = (512 - size) / 2;
  const m = size / N;
  const rects = [];
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const ch = GRID[y][x];
      if (ch === '.') continue;
      const fill = ch === 'G' ? ' fill="#f5b731"' : '';
      rects.push(`<rect x="${+(origin + x * m).toFixed(2)}" y="${+(origin + y * m).toFixed(2)}" width="${+m.toFixed(2)}" height="${+m.toFixed(2)}"${fill}/>`);
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="112.64" fill="#0b2545"/><g fill="#fff" shape-rendering="crispEdges">${rects.join('')}</g></svg>\n`;
}

const dir = fileURLToPath(new URL('.', import.meta.url));
writeFileSync(dir + 'icon.svg', svg());
writeFileSync(dir + 'icon-192.png', png(192, { maskable: false }));
writeFileSync(dir + 'icon-512.png', png(512, { maskable: false }));
writeFileSync(dir + 'maskable-512.png', png(512, { maskable: true }));
