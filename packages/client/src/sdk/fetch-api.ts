/**
 * One call to the public API (`<origin>/api/v1<path>`): a JSON body when there is one, the bearer token
 * when there is one. Returns the response and its text; each caller reads them its own way.
 */
export async function fetchApi(
  origin: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string | null,
): Promise<{ res: Response; text: string }> {
  const res = await fetch(`${origin}/api/v1${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { res, text: await res.text() };
}
