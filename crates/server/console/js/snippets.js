// The playground's request, built once from its settings: as the native request body the
// playground sends, and as the curl and google-genai Python code "Get code" shows. The code
// targets this server (the page's own origin) and carries the placeholder YOUR_API_KEY,
// never a real key.

export const KEY_PLACEHOLDER = 'YOUR_API_KEY';

/**
 * @typedef {{base: string, model: string, prompt: string, system: string,
 *            temperature: number, maxOutputTokens: number, stream: boolean}} Settings
 */

/** The native GenerateContentRequest for `s`. */
export function requestBody(s) {
  const body = {contents: [{role: 'user', parts: [{text: s.prompt}]}]};
  if (s.system.trim()) body.systemInstruction = {parts: [{text: s.system}]};
  body.generationConfig = {temperature: s.temperature, maxOutputTokens: s.maxOutputTokens};
  return body;
}

/** A POSIX shell word: single quotes, with each ' written as '\''. */
const shellQuote = (text) => `'${text.replaceAll("'", `'\\''`)}'`;

/** @param {Settings} s */
export function curlSnippet(s) {
  const method = s.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  const lines = [
    `curl ${shellQuote(`${s.base}/v1beta/models/${s.model}:${method}`)}`,
    `  -H ${shellQuote(`x-goog-api-key: ${KEY_PLACEHOLDER}`)}`,
    `  -H 'Content-Type: application/json'`,
    ...(s.stream ? ['  --no-buffer'] : []),
    `  -d ${shellQuote(JSON.stringify(requestBody(s), null, 2))}`,
  ];
  return lines.join(' \\\n');
}

/** A Python string literal: JSON's escapes are all valid in Python. */
const py = (text) => JSON.stringify(text);

/** A Python float literal ("1.0", "0.75"). */
const pyFloat = (n) => (Number.isInteger(n) ? n.toFixed(1) : String(n));

/** @param {Settings} s */
export function pythonSnippet(s) {
  const config = [
    ...(s.system.trim() ? [`        system_instruction=${py(s.system)},`] : []),
    `        temperature=${pyFloat(s.temperature)},`,
    `        max_output_tokens=${s.maxOutputTokens},`,
  ];
  const call = s.stream ? 'generate_content_stream' : 'generate_content';
  return [
    'from google import genai',
    'from google.genai import types',
    '',
    'client = genai.Client(',
    `    api_key=${py(KEY_PLACEHOLDER)},`,
    `    http_options=types.HttpOptions(base_url=${py(s.base)}),`,
    ')',
    '',
    `response = client.models.${call}(`,
    `    model=${py(s.model)},`,
    `    contents=${py(s.prompt)},`,
    '    config=types.GenerateContentConfig(',
    ...config,
    '    ),',
    ')',
    ...(s.stream ? ['for chunk in response:', '    print(chunk.text or "", end="", flush=True)', 'print()']
                 : ['print(response.text)']),
  ].join('\n');
}
