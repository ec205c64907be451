import { describe, expect, it } from 'vitest';
import { problemsByField } from './problems.js';

describe('problemsByField', () => {
  it('puts each message next to its field, nested ones on their parent field', () => {
    const shown = problemsByField(
      {
        title: 'Bad Request',
        status: 400,
        errors: [
          { field: 'heloHostname', message: 'has an empty label' },
          { field: 'addresses[1]', message: 'is not an IPv4 or IPv6 address' },
          { field: 'colour', message: 'is not a known field' },
        ],
      },
      ['heloHostname', 'addresses'],
    );
    expect(shown.fields).toEqual({ heloHostname: 'has an empty label', addresses: 'is not an IPv4 or IPv6 address' });
    expect(shown.general).toEqual(['colour is not a known field']);
  });

  it('shows a problem without field errors for the whole form', () => {
    expect(problemsByField({ title: 'Conflict', status: 409, detail: 'the address 192.0.2.1/32 belongs to Acme' }, ['name'])).toEqual({
      fields: {},
      general: ['the address 192.0.2.1/32 belongs to Acme'],
    });
    expect(problemsByField(undefined, ['name'])).toEqual({ fields: {}, general: [] });
  });
});
