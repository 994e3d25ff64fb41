import type { FastifyReply } from 'fastify';
import type { StreamEvent } from '../../models/provider.interface';
import { type Completed, type InferenceRun, collect } from '../inference-call';
import { isClientClosed, SseWriter } from './sse';
import { toApiError } from '../../common/errors/all-exceptions.filter';

export interface Formatter {
  /** The JSON body of a non-streaming answer. */
  complete(run: InferenceRun, result: Completed): unknown;
  /** Chunks for one streamed event (the `done` event may give a final chunk and a usage chunk). */
  chunks(run: InferenceRun, event: StreamEvent, first: boolean): unknown[];
}

/** Answers a started run as JSON or as SSE, according to `stream`. */
export async function respond(
  reply: FastifyReply,
  run: InferenceRun,
  stream: boolean,
  format: Formatter,
): Promise<void> {
  if (!stream) {
    const result = await collect(run);
    reply.headers(run.headers).status(200).send(format.complete(run, result));
    return;
  }
  const sse = new SseWriter(reply, run.headers);
  let first = true;
  try {
    for await (const event of run.events) {
      if (!sse.open) break;
      for (const chunk of format.chunks(run, event, first)) sse.send(chunk);
      first = false;
    }
    sse.done();
  } catch (err) {
    // A client that left is not an error of ours: settlement records it as 499.
    if (!isClientClosed(err)) run.onStreamError?.(toApiError(err).code);
    sse.fail(err);
  } finally {
    // Client gone mid-stream: stop the generation (and free the model).
    await run.events.return?.();
  }
}
