/** Topics as NATS subjects (docs/wire.md §9.5): dot-separated tokens, `*` one token, `>` the rest. */
import { InvalidArgumentError } from "../deps.js";

const TOKEN = /^[^\s.*>]+$/;

/** Checks a topic (a subject, wildcards allowed where `wildcards`); returns it. */
export function checkTopic(topic: string, wildcards: boolean): string {
  if (typeof topic !== "string" || topic.length === 0) throw new InvalidArgumentError(`a topic must be a non-empty string, got ${String(topic)}`);
  const tokens = topic.split(".");
  tokens.forEach((token, i) => {
    if (TOKEN.test(token)) return;
    if (wildcards && (token === "*" || (token === ">" && i === tokens.length - 1))) return;
    throw new InvalidArgumentError(
      `topic '${topic}' is not a NATS subject${wildcards ? " pattern" : ""}: dot-separated tokens without spaces` +
        (wildcards ? ", '*' for one token and '>' for the rest (last)" : ", and no wildcards when publishing"),
    );
  });
  return topic;
}

export function checkTopics(topics: readonly string[]): readonly string[] {
  if (!Array.isArray(topics) || topics.length === 0) throw new InvalidArgumentError("subscribe to at least one topic");
  return Object.freeze(topics.map((t) => checkTopic(t, true)));
}

/** The subject of a topic under `prefix`. */
export function subjectOf(prefix: string | undefined, topic: string): string {
  return prefix === undefined || prefix === "" ? topic : `${prefix}.${topic}`;
}

/** The topic of a subject received under `prefix`. */
export function topicOf(prefix: string | undefined, subject: string): string {
  return prefix === undefined || prefix === "" ? subject : subject.slice(prefix.length + 1);
}
