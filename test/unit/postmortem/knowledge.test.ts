import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildPostmortem } from "../../../lambdas/core/postmortem/build-postmortem.js";
import {
  KnowledgeError,
  knowledgeJsonSchemaText,
  parsePostmortemKnowledge,
} from "../../../lambdas/core/postmortem/knowledge.js";
import { websocketSessionLeakRecord } from "../../support/record-factory.js";
import { KNOWLEDGE, KNOWLEDGE_FILE, model } from "./helpers.js";

const shipped = readFileSync(KNOWLEDGE_FILE, "utf8");

describe("class knowledge (runbooks/postmortem/knowledge.yaml)", () => {
  it("matches the committed JSON Schema (npx tsx scripts/gen-runbook-schema.ts)", () => {
    const committed = readFileSync(
      new URL("../../../docs/postmortem-knowledge.schema.json", import.meta.url),
      "utf8",
    );
    expect(committed).toBe(knowledgeJsonSchemaText());
  });

  it("names the problem and where in one line: an action item a class lists but the file lacks", () => {
    const broken = shipped.replace("      - close-native-session\n", "      - close-the-socket\n");
    expect(() => parsePostmortemKnowledge(broken, "k.yaml")).toThrow(KnowledgeError);
    expect(() => parsePostmortemKnowledge(broken, "k.yaml")).toThrow(
      'k.yaml: classes.websocket-session-leak.actionItems.1: unknown action item "close-the-socket"',
    );
    expect(() => parsePostmortemKnowledge("apiVersion: [", "k.yaml")).toThrow(/^k\.yaml: not YAML: /);
  });

  it("validates each action item's gate and names the field: a gate deciding nothing, no ifUnknown, the old key", () => {
    const gate =
      "    gate:\n      when: { metric: fds.limit, op: lt, value: 65536 }\n      ifUnknown: omit\n";
    expect(shipped).toContain(gate);
    const parse = (text: string) => () => parsePostmortemKnowledge(text, "k.yaml");
    expect(parse(shipped.replace(gate, "    gate:\n      ifUnknown: omit\n"))).toThrow(
      "k.yaml: actionItems.raise-limitnofile-stopgap.gate: a gate needs `when` (a condition) or `knownFixMissing: true`",
    );
    expect(parse(shipped.replace(gate, gate.replace("      ifUnknown: omit\n", "")))).toThrow(
      /^k\.yaml: actionItems\.raise-limitnofile-stopgap\.gate\.ifUnknown: /,
    );
    expect(parse(shipped.replace(gate, gate.replace("fds.limit", "fds.limmit")))).toThrow(
      /^k\.yaml: actionItems\.raise-limitnofile-stopgap\.gate\.when\b/,
    );
    expect(
      parse(
        shipped.replace(
          "    gate:\n      knownFixMissing: true\n",
          "    onlyIfKnownFixMissing: true\n    gate:\n      knownFixMissing: true\n",
        ),
      ),
    ).toThrow(/^k\.yaml: actionItems\.upgrade-tomcat: .*onlyIfKnownFixMissing/);
  });

  it("changes the postmortem with YAML only: a class's title, action items and questions", () => {
    const edited = `${shipped}`
      .replace(
        "    title: Idle WebSocket connections held open until the open-files limit",
        "    title: Connections piled up on the connector",
      )
      .replace(
        "    actionItems:\n      - idle-timeout-in-front\n",
        "    actionItems:\n      - alarm-on-fd-usage\n      - idle-timeout-in-front\n",
      );
    const knowledge = parsePostmortemKnowledge(edited, "edited.yaml");
    const m = buildPostmortem(websocketSessionLeakRecord(), { knowledge });
    expect(m.title).toBe("Connections piled up on the connector (i-0a1b2c3d4e5f60718)");
    expect(m.actionItems[0]?.id).toBe("alarm-on-fd-usage");
    expect(m.actionItems[0]?.doFirst).toBe(true);
    expect(model(websocketSessionLeakRecord()).actionItems[0]?.id).toBe("idle-timeout-in-front");
  });

  it("gives every leak class an action item that fixes the cause, for a relief the postmortem calls temporary", () => {
    const leaking = Object.entries(KNOWLEDGE.classes).filter(([, c]) => c.leak !== undefined);
    expect(leaking.map(([id]) => id).sort()).toEqual([
      "close-wait-leak",
      "connection-pool-exhaustion",
      "fd-exhaustion",
      "file-handle-leak",
      "heap-exhaustion",
      "websocket-session-leak",
    ]);
    for (const [id, c] of leaking) {
      const kinds = c.actionItems.map((i) => KNOWLEDGE.actionItems[i]?.kind);
      expect(
        kinds.some((k) => k === "prevent" || k === "investigate"),
        id,
      ).toBe(true);
    }
  });

  it("reads what a class leaks from the YAML: without `leak:` the seed's kill is no longer a temporary fix", () => {
    expect(model(websocketSessionLeakRecord()).recurrenceForecast).toMatchObject({
      status: "recurs",
      temporary: true,
    });
    const marker =
      "    title: Idle WebSocket connections held open until the open-files limit\n    leak: fds\n";
    expect(shipped).toContain(marker);
    const edited = shipped.replace(marker, marker.replace("    leak: fds\n", ""));
    const knowledge = parsePostmortemKnowledge(edited, "edited.yaml");
    expect(buildPostmortem(websocketSessionLeakRecord(), { knowledge }).recurrenceForecast).toMatchObject({
      status: "not-a-leak",
      temporary: false,
      temporaryNote: null,
    });
  });
});
