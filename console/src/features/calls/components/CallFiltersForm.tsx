/** The calls filters: dates and choices apply at once, free text after a pause in typing. */
import { useEffect, useRef, useState } from 'react';

import { humanize } from '../../../lib/format';
import {
  type FilterName,
  type FilterValues,
  RESOLVED_OPTIONS,
  SENTIMENT_OPTIONS,
  SEVERITY_OPTIONS,
} from '../api/filters';

const TYPING_PAUSE_MS = 300;

function TextFilter({
  label,
  value,
  onCommit,
}: {
  label: string;
  value: string;
  onCommit: (value: string) => void;
}) {
  const [draft, setDraft] = useState(value);
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    // the URL changed under us (back button, a shared link): show its value
    setShown(value);
    setDraft(value);
  }
  const commitRef = useRef(onCommit);
  useEffect(() => {
    commitRef.current = onCommit;
  });
  useEffect(() => {
    if (draft === value) return;
    const timer = setTimeout(() => {
      commitRef.current(draft);
    }, TYPING_PAUSE_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [draft, value]);
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="search"
        value={draft}
        onChange={(e) => {
          setDraft(e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onCommit(draft);
        }}
      />
    </label>
  );
}

function SelectFilter({
  label,
  value,
  options,
  names,
  onCommit,
}: {
  label: string;
  value: string;
  options: string[];
  names?: Record<string, string>;
  onCommit: (value: string) => void;
}) {
  return (
    <label className="field">
      <span>{label}</span>
      <select
        value={value}
        onChange={(e) => {
          onCommit(e.target.value);
        }}
      >
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {names?.[o] ?? humanize(o)}
          </option>
        ))}
      </select>
    </label>
  );
}

export function CallFiltersForm({
  values,
  onChange,
  onClear,
}: {
  values: FilterValues;
  onChange: (name: FilterName, value: string) => void;
  onClear: () => void;
}) {
  const commit = (name: FilterName) => (value: string) => {
    onChange(name, value);
  };
  const active = Object.values(values).some(Boolean);
  return (
    <form
      className="toolbar filters"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
      }}
    >
      <label className="field">
        <span>From</span>
        <input type="date" value={values.from} onChange={(e) => { onChange('from', e.target.value); }} />
      </label>
      <label className="field">
        <span>To</span>
        <input type="date" value={values.to} onChange={(e) => { onChange('to', e.target.value); }} />
      </label>
      <TextFilter label="Queue" value={values.queue} onCommit={commit('queue')} />
      <TextFilter label="Agent" value={values.agent} onCommit={commit('agent')} />
      <SelectFilter label="Sentiment" value={values.sentiment} options={SENTIMENT_OPTIONS} onCommit={commit('sentiment')} />
      <SelectFilter
        label="Resolved"
        value={values.resolved}
        options={RESOLVED_OPTIONS}
        names={{ true: 'Resolved', false: 'Not resolved' }}
        onCommit={commit('resolved')}
      />
      <TextFilter label="Topic" value={values.topic} onCommit={commit('topic')} />
      <SelectFilter
        label="QA severity"
        value={values.qa_severity}
        options={SEVERITY_OPTIONS}
        onCommit={commit('qa_severity')}
      />
      <button type="button" className="button ghost" onClick={onClear} disabled={!active}>
        Clear filters
      </button>
    </form>
  );
}
