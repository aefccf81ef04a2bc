const MS_PER_DAY = 86_400_000;

/**
 * Shifts one DA value (YYYYMMDD, or the old YYYY.MM.DD form) by `days`. Returns undefined when
 * the value is not a valid date, so the caller can clear it instead of keeping it.
 */
export function shiftDate(value: string, days: number): string | undefined {
  const match = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(value.trim());
  if (!match) return undefined;

  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const parsed = new Date(0);
  parsed.setUTCFullYear(year, month - 1, day);
  if (parsed.getUTCMonth() !== month - 1 || parsed.getUTCDate() !== day) return undefined;

  return formatDate(new Date(parsed.getTime() + days * MS_PER_DAY));
}

/**
 * Shifts the date part of one DT value (YYYY[MM[DD[HHMMSS[.F][&ZZXX]]]]) by `days` and keeps the
 * time, fraction and UTC offset as written. A value of year or year-and-month precision is shifted
 * from its first day and written back at the same precision. Returns undefined for invalid values.
 */
export function shiftDateTime(value: string, days: number): string | undefined {
  const match = /^(\d{4})(\d{2})?(\d{2})?(.*)$/.exec(value.trim());
  if (!match) return undefined;

  const [, year, month, day, rest = ''] = match;
  if (rest !== '' && day === undefined) return undefined;
  if (!/^(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?([+-]\d{4})?$/.test(rest)) return undefined;

  const shifted = shiftDate(`${year}${month ?? '01'}${day ?? '01'}`, days);
  if (shifted === undefined) return undefined;

  const precision = 4 + (month === undefined ? 0 : 2) + (day === undefined ? 0 : 2);
  return shifted.slice(0, precision) + rest;
}

/** Applies `shift` to each value of a multi-valued string. Returns undefined if one is invalid. */
export function shiftEachValue(
  text: string,
  days: number,
  shift: (value: string, days: number) => string | undefined,
): string | undefined {
  const shifted: string[] = [];
  for (const value of text.split('\\')) {
    if (value.trim() === '') {
      shifted.push('');
      continue;
    }
    const result = shift(value, days);
    if (result === undefined) return undefined;
    shifted.push(result);
  }
  return shifted.join('\\');
}

function formatDate(date: Date): string | undefined {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) return undefined;
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, '0');
  return `${String(year).padStart(4, '0')}${month}${day}`;
}
