"""The OpenTelemetry GenAI attribute spellings the instrumentations send, mapped to creditgauge's measures.

The semantic conventions moved while the instrumentations followed at their own pace, so one measure arrives under
several names: the current conventions (`gen_ai.usage.input_tokens`, `gen_ai.usage.cache_read.input_tokens`),
their predecessors (`gen_ai.usage.prompt_tokens`, `gen_ai.system`), OpenLLMetry's (`llm.usage.*`,
`gen_ai.usage.cache_read_input_tokens`), the anthropic SDK's own spans (`gen_ai.usage.cache_write.input_tokens`),
OpenLIT's and pydantic-ai's (`gen_ai.usage.details.*`), the Vercel AI SDK's (`ai.usage.*`, `ai.operationId`,
`ai.model.*`, and providers named `<provider>.<api>`: `openai.chat`, `anthropic.messages`). The first spelling
present, in the order below, wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditgauge.providers.registry import api_host_providers, genai_provider_names

# creditgauge measure -> attribute names, most current first.
TOKEN_SPELLINGS: Mapping[str, tuple[str, ...]] = {
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens",
                     "ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens",
                      "ai.usage.outputTokens", "ai.usage.completionTokens"),
    "cached_input_tokens": (
        "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "gen_ai.usage.input_tokens.cached", "gen_ai.usage.details.cache_read_tokens",
        "gen_ai.usage.cached_tokens", "gen_ai.usage.prompt_tokens_details.cached_tokens",
        "ai.usage.inputTokenDetails.cacheReadTokens", "ai.usage.cachedInputTokens",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens", "gen_ai.usage.input_tokens.cache_creation",
        "gen_ai.usage.details.cache_write_tokens", "gen_ai.usage.cache_write_tokens",
        "ai.usage.inputTokenDetails.cacheWriteTokens",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.output_tokens.reasoning",
        "gen_ai.usage.reasoning_tokens", "gen_ai.usage.details.reasoning_tokens",
        "gen_ai.usage.completion_tokens_details.reasoning_tokens",
        "ai.usage.outputTokenDetails.reasoningTokens", "ai.usage.reasoningTokens",
    ),
}
USAGE_ATTRIBUTES = frozenset(name for names in TOKEN_SPELLINGS.values() for name in names)
# Each spelling -> (its measure, its rank among the measure's spellings: lower wins).
SPELLING_RANKS: Mapping[str, tuple[str, int]] = {
    name: (measure, rank) for measure, names in TOKEN_SPELLINGS.items() for rank, name in enumerate(names)}

OPERATION_ATTRIBUTES = ("gen_ai.operation.name", "llm.request.type")
# Operations that are one call to a model. Agent, workflow and tool spans (invoke_agent, execute_tool, ...) may
# repeat their children's usage and are never counted.
MODEL_CALL_OPERATIONS = frozenset({
    "chat", "text_completion", "generate_content", "embeddings", "completion", "embedding", "responses",
    "rerank",
})
# The Vercel AI SDK names no gen_ai operation: its `ai.operationId` says which spans are the provider calls. The
# spans around them (ai.generateText, ai.streamText, ...) repeat their usage and are never counted.
AI_SDK_OPERATION = "ai.operationId"
AI_SDK_OPERATIONS: Mapping[str, str] = {
    "ai.generateText.doGenerate": "chat", "ai.streamText.doStream": "chat",
    "ai.generateObject.doGenerate": "chat", "ai.streamObject.doStream": "chat",
    "ai.embed.doEmbed": "embeddings", "ai.embedMany.doEmbed": "embeddings",
}
# The provider's own usage object as the AI SDK keeps it (JSON text). AI SDK 5 puts Anthropic's uncached
# `input_tokens` in gen_ai.usage.input_tokens and the cache reads and writes only here.
AI_SDK_PROVIDER_METADATA = "ai.response.providerMetadata"
PROVIDER_ATTRIBUTES = ("gen_ai.provider.name", "gen_ai.system", "ai.model.provider")
SERVER_ADDRESS = "server.address"
MODEL_ATTRIBUTES = ("gen_ai.response.model", "gen_ai.request.model", "ai.model.id")
RESPONSE_ID = "gen_ai.response.id"
SERVICE_NAME = "service.name"
# Instrumentations that set `gen_ai.usage.input_tokens` to Anthropic's own `input_tokens`, which leaves out the
# cache reads and writes the conventions count in it: (their `telemetry.sdk.name`, on the span or its resource;
# the provider). Their cached parts are always added; for any other span only when input is smaller than them.
SDK_NAME = "telemetry.sdk.name"
INPUT_WITHOUT_CACHE = frozenset({("openlit", "anthropic")})  # OpenLIT 1.45's Anthropic instrumentation
RAW_INPUT_SDKS = frozenset(sdk for sdk, _ in INPUT_WITHOUT_CACHE)

# Every attribute a span is read for (besides the tags the config names).
SPAN_ATTRIBUTES = USAGE_ATTRIBUTES | frozenset(
    (*OPERATION_ATTRIBUTES, AI_SDK_OPERATION, AI_SDK_PROVIDER_METADATA, *PROVIDER_ATTRIBUTES, SERVER_ADDRESS,
     *MODEL_ATTRIBUTES, RESPONSE_ID, SDK_NAME))

# gen_ai.client.token.usage's gen_ai.token.type values (older instrumentations: prompt/completion).
TOKEN_TYPES: Mapping[str, str] = {"input": "input_tokens", "prompt": "input_tokens", "output": "output_tokens",
                                  "completion": "output_tokens"}
TOKEN_USAGE_METRIC = "gen_ai.client.token.usage"
TOKEN_TYPE = "gen_ai.token.type"


def provider_name(attributes: Mapping[str, object]) -> str | None:
    """The provider a span or data point names: its API host if known, else its provider attribute (mapped to
    creditgauge's name where known, or by the part before its first dot, as the Vercel AI SDK names them:
    `openai.responses`; else kept as sent, lower-cased). Both maps come from the provider records
    (`inference_origin`, `api_hosts`, `genai_names`): a provider plugin is recognised too."""
    host = attributes.get(SERVER_ADDRESS)
    if isinstance(host, str) and (known := api_host_providers().get(host.lower())):
        return known
    for name in PROVIDER_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and value.strip():
            key = value.strip().lower()
            names = genai_provider_names()
            return names.get(key) or names.get(key.partition(".")[0]) or key
    return None


def operation_name(attributes: Mapping[str, object]) -> str | None:
    for name in OPERATION_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value.lower()
    operation = attributes.get(AI_SDK_OPERATION)
    return AI_SDK_OPERATIONS.get(operation) if isinstance(operation, str) else None
