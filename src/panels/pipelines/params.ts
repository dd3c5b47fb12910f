/**
 * The "Run" form's values: what a text field holds for each parameter type,
 * and how it is turned back into the JSON value the server checks.
 */

import { IParameter, ParamType } from '../../api/pipelines';

/** The text a form field starts with: the default, written for its type. */
export function fieldText(param: IParameter): string {
  const value = param.default;
  if (value === null || value === undefined) {
    return '';
  }
  if (param.type === 'list' || param.type === 'dict') {
    return JSON.stringify(value);
  }
  return String(value);
}

/** The HTML input type for a parameter type. */
export function inputType(type: ParamType | null): string {
  return type === 'int' || type === 'float' ? 'number' : 'text';
}

/**
 * A field's text as the value to send. Empty fields are left out (the server
 * then uses the default, or says the parameter is required); list and dict
 * fields must be JSON. Numbers and booleans are sent typed; the server checks
 * and converts them again, so its message is the one a user sees.
 */
export function parseField(
  param: IParameter,
  text: string
): { value?: unknown; error?: string } {
  const raw = text.trim();
  if (raw === '') {
    return {};
  }
  switch (param.type) {
    case 'int': {
      const n = Number(raw);
      return Number.isInteger(n)
        ? { value: n }
        : { error: `${param.name} must be an integer` };
    }
    case 'float': {
      const n = Number(raw);
      return Number.isFinite(n)
        ? { value: n }
        : { error: `${param.name} must be a number` };
    }
    case 'bool':
      return { value: raw === 'true' };
    case 'list':
    case 'dict': {
      try {
        const parsed = JSON.parse(raw);
        const ok =
          param.type === 'list'
            ? Array.isArray(parsed)
            : parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
        return ok
          ? { value: parsed }
          : { error: `${param.name} must be a JSON ${param.type}` };
      } catch {
        return { error: `${param.name} must be a JSON ${param.type}` };
      }
    }
    case 'str':
      return { value: text };
    default:
      // no declared type: let the server read it as YAML would (numbers, lists…)
      return { value: text };
  }
}

/** Every field parsed; the first error stops the run. */
export function collect(
  params: IParameter[],
  fields: Record<string, string>
): { values: Record<string, unknown>; error: string | null } {
  const values: Record<string, unknown> = {};
  for (const param of params) {
    const text = fields[param.name];
    if (text === undefined) {
      continue;
    }
    const parsed = parseField(param, text);
    if (parsed.error) {
      return { values, error: parsed.error };
    }
    if ('value' in parsed && text.trim() !== fieldText(param).trim()) {
      values[param.name] = parsed.value; // only what the user changed
    }
  }
  return { values, error: null };
}
