/**
 * What the planning of a local request sees of its model, and the steps planning shares: a JSON
 * constraint compiled with the schema errors our API gives, and chat prompts rendered with the
 * template's refusal turned into a 400.
 */
import { ApiError } from '../../../common/errors/api-error';
import { ErrorCode } from '../../../common/errors/error-code';
import type { ChatMessage } from '../../provider.interface';
import {
  compileJsonConstraint,
  type JsonConstraint,
  type JsonResponseFormat,
  UnsupportedSchemaError,
} from '../constrained/constraint';
import type { TokenIndex } from '../constrained/token-index';
import type { FunctionTool } from '../constrained/tool-call-schema';
import type { ModelTokenizer } from '../tokenizer';
import { toTemplateMessages, type OpenAiMessage } from '../tools/template-messages';
import type { ToolParserName } from '../tools/tool-call-formats';

export interface ModelView {
  id: string;
  tokenizer: ModelTokenizer;
  vocabSize: number;
  /** Fed for an empty prompt (BOS, else EOS). */
  startId?: number;
  /** Sequences the model can hold at once (batch slots + queue): a request's choices must fit. */
  capacity: number;
  /** models.yaml `tool_parser`, else what the template shows. */
  toolParser?: ToolParserName;
  tokenIndex(): TokenIndex;
}

export const unsupported = (model: string, param: string, why: string): ApiError =>
  new ApiError(ErrorCode.UnsupportedParameter, `model "${model}" (local): ${why}`, param);

export function compileConstraint(model: ModelView, format: JsonResponseFormat, param: string): JsonConstraint {
  try {
    const constraint = compileJsonConstraint(format, model.tokenIndex());
    constraint.minTokens(); // a schema with no finite document fails here, not in the decode loop
    return constraint;
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) {
      const where = param === 'tools' ? "a tool's parameters" : 'the response_format schema';
      throw unsupported(
        model.id,
        param,
        `${where}: "${err.keyword}" at ${err.path || '#'} is not supported (the strict JSON Schema subset is)`,
      );
    }
    throw err;
  }
}

/** Templates may refuse a conversation (e.g. `raise_exception` on roles they do not know). */
const templateRejected = (err: unknown): ApiError =>
  ApiError.invalid(`the model's chat template rejected the messages: ${(err as Error).message}`, 'messages');

export function render(model: ModelView, messages: readonly object[], tools?: FunctionTool[]): string {
  try {
    return model.tokenizer.chatTemplate.renderWith(
      toTemplateMessages(messages as OpenAiMessage[]),
      tools ? { tools } : {},
    );
  } catch (err) {
    throw templateRejected(err);
  }
}

export function encodeChat(model: ModelView, messages: readonly ChatMessage[]): number[] {
  try {
    return model.tokenizer.encodeChat(messages);
  } catch (err) {
    throw templateRejected(err);
  }
}
