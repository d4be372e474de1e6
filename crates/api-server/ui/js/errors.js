// What the API answered when a call failed, read from Taskcluster's error body: the code, the message without
// the request details appended after `---`, and the fields a validation error names (Ajv's
// `data/metadata/owner ...` lines, the model's `metadata.owner: ...`, or a URL parameter such as `hookId`).

/** A failed call. */
export class ApiError extends Error {
  constructor({ status, code, message }) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** The error for an answer with `status` and JSON `body` (which may be null). */
  static from(status, body) {
    const full = (body && (body.message || body.error)) || `The server answered ${status}.`;
    const message = String(full).split('\n\n---\n\n')[0].trim();
    const code = (body && body.code) || (status === 404 ? 'ResourceNotFound' : `HTTP ${status}`);
    return new ApiError({ status, code, message });
  }

  /** `[{path: ['metadata', 'owner'], problem}]` for each field the message names; [] when it names none. */
  get fields() {
    if (this.code === 'InvalidRequestArguments') {
      return [...this.message.matchAll(/^URL parameter '(\w+)' given as .*? (must match .*)$/gm)]
        .map((m) => ({ path: [m[1]], problem: m[2] }));
    }
    if (this.code !== 'InputValidationError' && this.code !== 'InputError') return [];
    const ajv = [...this.message.matchAll(/^\s*\* data((?:\/[^\s/]+)*) (.+)$/gm)].map((m) => ({
      path: m[1].split('/').filter(Boolean).map(unescapePointer),
      problem: m[2],
    }));
    if (ajv.length) return ajv;
    const model = /^([A-Za-z_$][\w$]*(?:\.[\w$]+|\[\d+\])*): (.+)$/s.exec(this.message);
    if (!model) return [];
    return [{ path: model[1].split(/\.|\[(\d+)\]/).filter(Boolean), problem: model[2] }];
  }
}

function unescapePointer(part) {
  return part.replace(/~1/g, '/').replace(/~0/g, '~');
}
