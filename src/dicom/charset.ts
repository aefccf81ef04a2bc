import iconv from 'iconv-lite';

/** A character set that ISO 2022 code extension can designate to G0 or G1 (PS3.3 C.12.1.1.2). */
interface CodeElement {
  /** iconv-lite codec name, or `jis` and `jis-0212` for JIS X 0208 and 0212, decoded as EUC-JP. */
  codec: string;
  /** Bytes following ESC that designate this element. */
  escape: number[];
  graphic: 'G0' | 'G1';
  bytesPerChar: 1 | 2;
}

const ESC = 0x1b;

/** Code elements by ISO 2022 defined term, without the `ISO 2022 ` prefix. */
const codeElements: Record<string, CodeElement> = {
  'IR 6': { codec: 'ascii', escape: [0x28, 0x42], graphic: 'G0', bytesPerChar: 1 },
  'IR 100': { codec: 'iso-8859-1', escape: [0x2d, 0x41], graphic: 'G1', bytesPerChar: 1 },
  'IR 101': { codec: 'iso-8859-2', escape: [0x2d, 0x42], graphic: 'G1', bytesPerChar: 1 },
  'IR 109': { codec: 'iso-8859-3', escape: [0x2d, 0x43], graphic: 'G1', bytesPerChar: 1 },
  'IR 110': { codec: 'iso-8859-4', escape: [0x2d, 0x44], graphic: 'G1', bytesPerChar: 1 },
  'IR 144': { codec: 'iso-8859-5', escape: [0x2d, 0x4c], graphic: 'G1', bytesPerChar: 1 },
  'IR 127': { codec: 'iso-8859-6', escape: [0x2d, 0x47], graphic: 'G1', bytesPerChar: 1 },
  'IR 126': { codec: 'iso-8859-7', escape: [0x2d, 0x46], graphic: 'G1', bytesPerChar: 1 },
  'IR 138': { codec: 'iso-8859-8', escape: [0x2d, 0x48], graphic: 'G1', bytesPerChar: 1 },
  'IR 148': { codec: 'iso-8859-9', escape: [0x2d, 0x4d], graphic: 'G1', bytesPerChar: 1 },
  'IR 203': { codec: 'iso-8859-15', escape: [0x2d, 0x62], graphic: 'G1', bytesPerChar: 1 },
  'IR 166': { codec: 'tis620', escape: [0x2d, 0x54], graphic: 'G1', bytesPerChar: 1 },
  // JIS X 0201: Katakana in G1 and Romaji in G0. Shift_JIS decodes both halves of that code.
  'IR 13': { codec: 'shift_jis', escape: [0x29, 0x49], graphic: 'G1', bytesPerChar: 1 },
  'IR 13 G0': { codec: 'shift_jis', escape: [0x28, 0x4a], graphic: 'G0', bytesPerChar: 1 },
  'IR 87': { codec: 'jis', escape: [0x24, 0x42], graphic: 'G0', bytesPerChar: 2 },
  'IR 159': { codec: 'jis-0212', escape: [0x24, 0x28, 0x44], graphic: 'G0', bytesPerChar: 2 },
  'IR 149': { codec: 'euc-kr', escape: [0x24, 0x29, 0x43], graphic: 'G1', bytesPerChar: 2 },
  'IR 58': { codec: 'gb2312', escape: [0x24, 0x29, 0x41], graphic: 'G1', bytesPerChar: 2 },
};

/** Defined terms without code extensions (PS3.3 Tables C.12-2 and C.12-5), by iconv-lite codec. */
const plainCodecs: Record<string, string> = {
  'ISO_IR 6': 'iso-8859-1',
  'ISO_IR 100': 'iso-8859-1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 166': 'tis620',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/** Codec for a SpecificCharacterSet term that is not a defined term: Latin-1 keeps every byte. */
const fallbackCodec = 'iso-8859-1';

const ASCII = codeElements['IR 6']!;

interface Designation {
  G0: CodeElement;
  G1: CodeElement | undefined;
}

/**
 * Decodes raw bytes of a text value (PN, LO, SH, ST, LT, UT...) with a SpecificCharacterSet value
 * (backslash-separated, may be empty, may be multi-valued ISO 2022). An unknown term decodes as
 * Latin-1, so a bad SpecificCharacterSet never fails the import.
 */
export function decodeText(bytes: Uint8Array, specificCharacterSet: string, vr?: string): string {
  const terms = specificCharacterSet.split('\\').map((term) => term.trim());
  const usesCodeExtensions = terms.length > 1 || terms[0]!.startsWith('ISO 2022');
  if (!usesCodeExtensions) {
    return iconv.decode(asBuffer(bytes), plainCodecs[terms[0] || 'ISO_IR 6'] ?? fallbackCodec);
  }

  return decodeIso2022(bytes, initialDesignation(terms[0]!), vr);
}

/** Returns the G0 and G1 sets of value 1, active at the start and after each delimiter. */
function initialDesignation(firstTerm: string): Designation {
  const key = firstTerm.replace(/^ISO 2022 /, '').replace(/^ISO_IR /, 'IR ');
  if (key === 'IR 13') {
    return { G0: codeElements['IR 13 G0']!, G1: codeElements['IR 13'] };
  }
  const element = codeElements[key];
  if (element === undefined || element.bytesPerChar === 2) {
    return { G0: ASCII, G1: element?.graphic === 'G1' ? element : undefined };
  }
  return element.graphic === 'G1' ? { G0: ASCII, G1: element } : { G0: element, G1: undefined };
}

/**
 * Decodes ISO 2022 code extension as DICOM uses it (PS3.5 6.1.2.5): escape sequences switch G0
 * or G1, and value 1's sets come back before CR, LF, FF, TAB, `\` and, in PN, before `^` and `=`.
 * iconv-lite has no such decoder, so this splits the bytes into runs of one set and lets
 * iconv-lite decode each run with that set's table.
 */
function decodeIso2022(bytes: Uint8Array, initial: Designation, vr: string | undefined): string {
  const delimiters = delimitersFor(vr);
  const state: Designation = { ...initial };
  let text = '';
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i]!;
    const escape = byte === ESC ? matchEscape(bytes, i + 1) : undefined;
    const resets = state.G0.bytesPerChar === 1 && delimiters.includes(byte);
    if (escape === undefined && !resets) {
      i++;
      continue;
    }

    text += decodeRun(bytes.subarray(runStart, i), state);
    if (escape !== undefined) {
      state[escape.graphic] = escape;
      i += 1 + escape.escape.length;
      runStart = i;
    } else {
      Object.assign(state, initial);
      runStart = i;
      i++;
    }
  }
  return text + decodeRun(bytes.subarray(runStart), state);
}

const controlDelimiters = [0x0d, 0x0a, 0x0c, 0x09];

/** Bytes before which value 1's sets return. A backslash separates values except in ST, LT, UT. */
function delimitersFor(vr: string | undefined): number[] {
  if (vr === 'PN') {
    return [0x5c, 0x5e, 0x3d, ...controlDelimiters];
  }
  if (vr === 'ST' || vr === 'LT' || vr === 'UT') {
    return controlDelimiters;
  }
  return [0x5c, ...controlDelimiters];
}

function matchEscape(bytes: Uint8Array, start: number): CodeElement | undefined {
  return Object.values(codeElements).find((element) =>
    element.escape.every((byte, offset) => bytes[start + offset] === byte),
  );
}

/** Decodes bytes with the G0 set for bytes below 0x80 and the G1 set for the others. */
function decodeRun(run: Uint8Array, state: Designation): string {
  if (run.length === 0) {
    return '';
  }
  if (state.G0.bytesPerChar === 1) {
    const codec = state.G1?.codec ?? (state.G0 === ASCII ? fallbackCodec : state.G0.codec);
    return iconv.decode(asBuffer(run), codec);
  }

  let text = '';
  let start = 0;
  for (let i = 1; i <= run.length; i++) {
    const high = (run[start]! & 0x80) !== 0;
    if (i < run.length && ((run[i]! & 0x80) !== 0) === high) {
      continue;
    }
    const part = run.subarray(start, i);
    if (high) {
      text += iconv.decode(asBuffer(part), state.G1?.codec ?? fallbackCodec);
    } else {
      text += decodeJis(part, state.G0);
    }
    start = i;
  }
  return text;
}

/** JIS X 0208 and 0212 bytes in G0 are the EUC-JP bytes with the high bit cleared. */
function decodeJis(part: Uint8Array, element: CodeElement): string {
  const euc: number[] = [];
  for (let i = 0; i + 1 < part.length; i += 2) {
    if (element.codec === 'jis-0212') {
      euc.push(0x8f);
    }
    euc.push(part[i]! | 0x80, part[i + 1]! | 0x80);
  }
  const text = iconv.decode(Buffer.from(euc), 'euc-jp');
  // A lone last byte is no JIS character, so it is kept as Latin-1 and no byte is lost.
  return part.length % 2 === 0 ? text : text + String.fromCharCode(part[part.length - 1]!);
}

/** Wraps the bytes without copying them, for iconv-lite. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
