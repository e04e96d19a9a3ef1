// A typed worker module for the type-level tests: never run, only imported as `typeof import(...)`.
export function square(x: number): number {
  return x * x;
}

export function greet(name: string, times: number): Promise<string> {
  return Promise.resolve(`hello ${name} `.repeat(times));
}

export function tag(label: string, options?: { upper?: boolean }): { label: string } {
  return { label: options?.upper === true ? label.toUpperCase() : label };
}

export const notFn = 3;

export function ping(): string {
  return 'pong';
}
