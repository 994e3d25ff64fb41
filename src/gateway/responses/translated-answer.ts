import type { FastifyReply } from 'fastify';
import { toApiError } from '../../common/errors/all-exceptions.filter';
import { chatFormat } from '../format/chat.format';
import { isClientClosed } from '../http/sse';
import type { InferenceRun } from '../inference-call';
import { ChatToResponses } from './chat-to-responses';
import { responseBase } from './response-object';
import type { ResponsesBody } from './responses.schemas';
import { TypedSseWriter } from './typed-sse';

/**
 * Answers a translated run. The run's events go through the chat formatter first, so what is
 * translated is exactly the `chat.completion.chunk` stream a chat client would get (usage
 * included), whoever produced it: a local model, a chat upstream, or the cache.
 */
export async function answerTranslated(
  reply: FastifyReply,
  run: InferenceRun,
  body: ResponsesBody,
  stream: boolean,
  /** Keeps the output items for later `item_reference`s, before the client can send one. */
  keep: (items: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const format = chatFormat(true);
  const builder = new ChatToResponses(
    responseBase({ id: run.id, model: run.model, createdAt: run.created }, body),
    run.id,
  );
  let first = true;
  if (!stream) {
    try {
      for await (const event of run.events) {
        for (const chunk of format.chunks(run, event, first)) builder.chunk(chunk as never);
        first = false;
      }
    } finally {
      await run.events.return?.();
    }
    builder.end();
    const response = builder.response();
    await keep(response.output as Record<string, unknown>[]);
    reply.headers(run.headers).status(200).send(response);
    return;
  }
  const sse = new TypedSseWriter(reply, run.headers);
  try {
    sse.send(builder.start());
    for await (const event of run.events) {
      if (!sse.open) break;
      for (const chunk of format.chunks(run, event, first)) sse.send(builder.chunk(chunk as never));
      first = false;
    }
    const closing = builder.end();
    await keep(builder.response().output as Record<string, unknown>[]);
    sse.send(closing);
  } catch (err) {
    // A client that left is not an error of ours: settlement records it as 499.
    const e = toApiError(err);
    if (!isClientClosed(err)) run.onStreamError?.(e.code);
    sse.send([...builder.error(e.code, e.message, e.param), ...builder.failed(e.code, e.message)]);
  } finally {
    sse.end();
    await run.events.return?.();
  }
}
