import { crc32 as nodeCrc32, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { epub } from './epub';
import { crc32 } from './zip';

/** Read a ZIP back from its central directory, checking every entry's CRC. */
function unzip(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 22;
  expect(view.getUint32(end, true)).toBe(0x06054b50);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    expect(view.getUint32(at, true)).toBe(0x02014b50);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(start, start + size);
    const data = method === 0 ? raw : new Uint8Array(inflateRawSync(raw));
    expect(crc32(data), name).toBe(crc);
    out.set(name, data);
    at += 46 + nameLength;
  }
  return out;
}

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

describe('epub', () => {
  const book = epub({
    id: 'abc',
    title: 'Luna & the <Moon>',
    language: 'es',
    modified: new Date('2026-01-02T03:04:05.678Z'),
    paragraphs: [{ text: 'Había una vez…', image: { id: 'img1', type: 'image/png', data: PNG } }, { text: 'Fin.' }],
  });
  const files = unzip(book);
  const text = (name: string) => new TextDecoder().decode(files.get(name));

  it('starts with the uncompressed mimetype, as readers require', () => {
    expect(new TextDecoder().decode(book.subarray(30, 38))).toBe('mimetype');
    expect(text('mimetype')).toBe('application/epub+zip');
  });

  it('holds the package, the navigation, the chapter and the images', () => {
    expect([...files.keys()]).toEqual([
      'mimetype',
      'META-INF/container.xml',
      'OEBPS/content.opf',
      'OEBPS/nav.xhtml',
      'OEBPS/story.xhtml',
      'OEBPS/images/img1.png',
    ]);
    expect(files.get('OEBPS/images/img1.png')).toEqual(PNG);
    expect(text('OEBPS/content.opf')).toContain('<dc:language>es</dc:language>');
    expect(text('OEBPS/content.opf')).toContain('<meta property="dcterms:modified">2026-01-02T03:04:05Z</meta>');
  });

  it('escapes the text of the story', () => {
    const chapter = text('OEBPS/story.xhtml');
    expect(chapter).toContain('<h1>Luna &amp; the &lt;Moon&gt;</h1>');
    expect(chapter).toContain('<p>Había una vez…</p>');
    expect(chapter).toContain('<img src="images/img1.png"');
  });

  it('computes the CRC-32 every zip tool computes', () => {
    const data = new TextEncoder().encode('The quick brown fox jumps over the lazy dog');
    expect(crc32(data)).toBe(0x414fa339);
    expect(crc32(data)).toBe(nodeCrc32(data));
  });
});
