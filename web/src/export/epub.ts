/** A story as an EPUB 3 book: one chapter, its illustrations, a title page in the navigation. */
import { zip, type Entry } from './zip';

export interface BookImage {
  /** The image's id: its file name in the book. */
  id: string;
  type: string;
  data: Uint8Array;
}

export interface Book {
  id: string;
  title: string;
  language: string;
  paragraphs: { text: string; image?: BookImage | undefined }[];
  modified: Date;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

export function epub(book: Book): Uint8Array {
  const images = book.paragraphs.flatMap((p) => (p.image ? [p.image] : []));
  const file = (image: BookImage) => `images/${image.id}.${EXTENSIONS[image.type] ?? 'bin'}`;
  const unique = [...new Map(images.map((i) => [i.id, i])).values()];
  const title = escape(book.title);
  const lang = escape(book.language);
  const chapter = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="${lang}" lang="${lang}">
<head><title>${title}</title></head>
<body>
<h1>${title}</h1>
${book.paragraphs
  .map((p, i) => `${p.image ? `<p><img src="${file(p.image)}" alt="Illustration ${i + 1}"/></p>\n` : ''}<p>${escape(p.text)}</p>`)
  .join('\n')}
</body>
</html>
`;
  const nav = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="${lang}" lang="${lang}">
<head><title>${title}</title></head>
<body><nav epub:type="toc" id="toc"><ol><li><a href="story.xhtml">${title}</a></li></ol></nav></body>
</html>
`;
  const modified = book.modified.toISOString().replace(/\.\d+Z$/, 'Z');
  const opf = `<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" xml:lang="${lang}">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="book-id">urn:storybang:story:${escape(book.id)}</dc:identifier>
    <dc:title>${title}</dc:title>
    <dc:language>${lang}</dc:language>
    <meta property="dcterms:modified">${modified}</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="story" href="story.xhtml" media-type="application/xhtml+xml"/>
${unique.map((i) => `    <item id="img-${escape(i.id)}" href="${file(i)}" media-type="${escape(i.type)}"/>`).join('\n')}
  </manifest>
  <spine><itemref idref="story"/></spine>
</package>
`;
  const container = `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
`;
  const entries: Entry[] = [
    { name: 'mimetype', data: 'application/epub+zip' }, // first and stored, as EPUB readers require
    { name: 'META-INF/container.xml', data: container },
    { name: 'OEBPS/content.opf', data: opf },
    { name: 'OEBPS/nav.xhtml', data: nav },
    { name: 'OEBPS/story.xhtml', data: chapter },
    ...unique.map((i) => ({ name: `OEBPS/${file(i)}`, data: i.data })),
  ];
  return zip(entries);
}
