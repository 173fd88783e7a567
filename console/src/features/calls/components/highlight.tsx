/** Marks a QA flag's evidence where it appears in a transcript turn (`<mark>`). */
import type { ReactNode } from 'react';

export interface Evidence {
  text: string;
  flag: string;
}

/** The quoted fragments of an evidence string: quotes, `[mm:ss] speaker:` prefixes and ellipses removed. */
export function fragments(evidence: string): string[] {
  return evidence
    .split(/\n|\.\.\.|…/)
    .map((part) =>
      part
        .trim()
        .replace(/^\[?\d{1,2}:\d{2}\]?\s*/, '')
        .replace(/^(agent|customer|caller)\d*\s*:\s*/i, '')
        .replace(/^["“'‘]+|["”'’]+$/g, '')
        .trim(),
    )
    .filter((part) => part.length >= 3);
}

type Range = [start: number, end: number, flag: string];

function rangesOf(text: string, evidence: Evidence[]): Range[] {
  const lower = text.toLowerCase();
  const ranges: Range[] = [];
  for (const item of evidence) {
    for (const part of fragments(item.text)) {
      const needle = part.toLowerCase();
      const at = lower.indexOf(needle);
      if (at >= 0) ranges.push([at, at + needle.length, item.flag]);
      else if (text.trim().length >= 12 && needle.includes(lower.trim())) ranges.push([0, text.length, item.flag]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Range[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
}

/** The turn's text with every evidence fragment found in it wrapped in `<mark>`. */
export function highlight(text: string, evidence: Evidence[]): { nodes: ReactNode[]; marked: boolean } {
  const ranges = rangesOf(text, evidence);
  if (!ranges.length) return { nodes: [text], marked: false };
  const nodes: ReactNode[] = [];
  let at = 0;
  for (const [start, end, flag] of ranges) {
    if (start > at) nodes.push(text.slice(at, start));
    nodes.push(
      <mark key={start} title={`QA flag: ${flag}`}>
        {text.slice(start, end)}
      </mark>,
    );
    at = end;
  }
  if (at < text.length) nodes.push(text.slice(at));
  return { nodes, marked: true };
}
