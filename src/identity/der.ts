// A DER writer with only the types a PKCS#10 request needs. The proxy builds one CSR per
// lifetime; @peculiar/x509 (with asn1js, tsyringe and reflect-metadata) would cost every pod
// ~40 MB of RSS for it. Values are nested byte buffers: each function returns a complete TLV.

/** Tag, length and contents; the length in DER's shortest form. */
export function tlv(tag: number, contents: Uint8Array): Buffer {
  const n = contents.length;
  let head: number[];
  if (n < 0x80) {
    head = [tag, n];
  } else {
    const lengthBytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest % 256);
    head = [tag, 0x80 | lengthBytes.length, ...lengthBytes];
  }
  return Buffer.concat([Buffer.from(head), contents]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items));

/** SET OF; DER sorts the encoded members. */
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));

export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);

export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);

/** A BIT STRING of whole bytes (keys and signatures never have unused bits). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));

/** A non-negative INTEGER small enough for a JavaScript number (versions, not key material). */
export function integer(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`DER integer ${value} is not a non-negative safe integer`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  if (bytes.length === 0 || bytes[0]! >= 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0) || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! >= 40)) {
    throw new RangeError(`"${dotted}" is not an object identifier`);
  }
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    // Base 128, most significant group first, the high bit set on every group but the last.
    const groups = [arc % 128];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift(0x80 | rest % 128);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function isPrintable(text: string): boolean {
  return PRINTABLE.test(text);
}

export function printableString(text: string): Buffer {
  if (!isPrintable(text)) throw new RangeError(`"${text}" has characters a PrintableString cannot hold`);
  return tlv(0x13, Buffer.from(text, 'latin1'));
}

/** [n] IMPLICIT around a primitive value's contents (the SAN's dNSName, URI). */
export const contextPrimitive = (n: number, contents: Uint8Array): Buffer => tlv(0x80 | n, contents);

/** [n] around constructed contents (the request's attributes). */
export const contextConstructed = (n: number, ...items: Uint8Array[]): Buffer => tlv(0xa0 | n, Buffer.concat(items));
