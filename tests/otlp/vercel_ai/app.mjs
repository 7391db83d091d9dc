// The Vercel AI SDK calling the fake upstream with its telemetry on, exporting its spans over OTLP/HTTP protobuf to
// creditgauge, set up as its documentation shows: a global tracer provider, `experimental_telemetry` on each call.
//   node app.mjs <creditgauge url> <call>...   call: openai-chat | openai-responses | anthropic, ":stream" to stream,
//                                              or embed
// The upstream's URL and the keys come from UPSTREAM, OPENAI_API_KEY and ANTHROPIC_API_KEY; CREDITGAUGE_TOKEN, when
// set, goes in the exporter's Authorization header. AI_SDK=5 runs the AI SDK 5 (its packages under the -v5 and -v2
// aliases of package.json) instead of 6. Any HTTP call beyond this machine is refused: a passing run
// sent nothing outward.
import http from 'node:http';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const v5 = process.env.AI_SDK === '5';
const { embed, generateText, streamText } = await import(v5 ? 'ai-v5' : 'ai');
const { createAnthropic } = await import(v5 ? '@ai-sdk/anthropic-v2' : '@ai-sdk/anthropic');
const { createOpenAI } = await import(v5 ? '@ai-sdk/openai-v2' : '@ai-sdk/openai');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const loopbackOnly = (url) => {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`refused: a connection to ${host}, beyond this machine`);
};
const fetchAnywhere = globalThis.fetch;
globalThis.fetch = (input, init) => {
  loopbackOnly(typeof input === 'string' || input instanceof URL ? String(input) : input.url);
  return fetchAnywhere(input, init);
};
const requestAnywhere = http.request;
http.request = (options, ...rest) => {
  const host = typeof options === 'string' || options instanceof URL ? new URL(options).hostname
    : options.hostname ?? options.host;
  if (!LOOPBACK.has(host)) throw new Error(`refused: a connection to ${host}, beyond this machine`);
  return requestAnywhere(options, ...rest);
};

const [endpoint, ...calls] = process.argv.slice(2);
const token = process.env.CREDITGAUGE_TOKEN;
const exporter = new OTLPTraceExporter({
  url: `${endpoint}/v1/traces`, headers: token ? { authorization: `Bearer ${token}` } : {},
});
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'storefront', 'deployment.environment': 'prod' }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);

const upstream = `${process.env.UPSTREAM}/v1`;
const openai = createOpenAI({ baseURL: upstream, apiKey: process.env.OPENAI_API_KEY });
const anthropic = createAnthropic({ baseURL: upstream, apiKey: process.env.ANTHROPIC_API_KEY });
const models = {
  'openai-chat': () => openai.chat('gpt-4o-mini'),
  'openai-responses': () => openai('gpt-4o-mini'),
  anthropic: () => anthropic('claude-sonnet-4-5'),
};
const telemetry = { isEnabled: true, functionId: 'order-summary' };

for (const call of calls) {
  const [kind, mode] = call.split(':');
  if (kind === 'embed') {
    await embed({ model: openai.embedding('text-embedding-3-small'), value: 'an order', experimental_telemetry: telemetry });
  } else if (mode === 'stream') {
    const result = streamText({ model: models[kind](), prompt: 'Summarise the order.', experimental_telemetry: telemetry });
    for await (const _ of result.textStream) { /* read to the end, as an application shows it */ }
  } else {
    await generateText({ model: models[kind](), prompt: 'Summarise the order.', experimental_telemetry: telemetry });
  }
}
await provider.forceFlush();
await provider.shutdown();
