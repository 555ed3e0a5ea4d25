/**
 * OpenTelemetry spans and metrics for RPC calls, built on @ipc's diagnostics channels (packages/core/README.md,
 * "Observability"): nothing in @ipc/rpc knows about OpenTelemetry. A subscriber to `ipc:rpc:call:start` and
 * `ipc:rpc:call:end` opens a span per call on each side (client and server), ends it with the call's status,
 * and records the call's duration in a histogram (`rpc.client.duration` / `rpc.server.duration`, in ms, whose
 * count is the number of calls). Here the SDK exports to memory and the example prints what it exported; in an
 * application, register the exporters you use (OTLP, console…) instead — the subscriber stays the same.
 *
 *   pnpm example otel-rpc
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind, SpanStatusCode, metrics, trace, type Histogram, type Span } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { IPC_CHANNELS, subscribeDiagnostics, type RpcCall } from "@ipc/core";
import { RpcError, createClient, loadService, protobuf, serve, type Unary } from "@ipc/rpc";
import * as unix from "@ipc/unix";

// 1. The OpenTelemetry SDK, set up as an application would (here with in-memory exporters, to print them).
const spanExporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }));
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
// Exports when flushed below; the interval only matters to a long-running process.
const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [metricReader] });
metrics.setGlobalMeterProvider(meterProvider);

// 2. The instrumentation: RPC calls as spans and durations, from the diagnostics channels, through the API only.
/** Subscribes to @ipc's RPC channels; returns the function that stops it. */
function instrumentIpcRpc(): () => void {
  const tracer = trace.getTracer("ipc-rpc-example");
  const meter = metrics.getMeter("ipc-rpc-example");
  const durations: Record<RpcCall["side"], Histogram> = {
    client: meter.createHistogram("rpc.client.duration", { unit: "ms", description: "Duration of the RPC calls this process made" }),
    server: meter.createHistogram("rpc.server.duration", { unit: "ms", description: "Duration of the RPC calls this process served" }),
  };
  const open = new WeakMap<RpcCall, { span: Span; start: number }>();
  const stopStart = subscribeDiagnostics(IPC_CHANNELS.rpcCallStart, ({ call }) => {
    const [, service = "", method = ""] = call.method.split("/"); // "/calc.Calculator/Add"
    const span = tracer.startSpan(`${service}/${method}`, {
      kind: call.side === "client" ? SpanKind.CLIENT : SpanKind.SERVER,
      attributes: { "rpc.system": "ipc", "rpc.service": service, "rpc.method": method, "ipc.address": call.connection.remoteAddress },
    });
    open.set(call, { span, start: performance.now() });
  });
  const stopEnd = subscribeDiagnostics(IPC_CHANNELS.rpcCallEnd, ({ call, status, error }) => {
    const started = open.get(call);
    if (started === undefined) return;
    open.delete(call);
    const { span, start } = started;
    span.setAttribute("rpc.ipc.status", status);
    if (error === undefined) span.setStatus({ code: SpanStatusCode.OK });
    else span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end();
    const [, service = "", method = ""] = call.method.split("/");
    durations[call.side].record(performance.now() - start, { "rpc.service": service, "rpc.method": method, "rpc.ipc.status": status });
  });
  return () => {
    stopStart();
    stopEnd();
  };
}

const stopInstrumenting = instrumentIpcRpc();

// 3. An ordinary RPC server and client over a Unix socket.
const Calculator = loadService<{
  readonly add: Unary<{ a: number; b: number }, { value: number }>;
  readonly divide: Unary<{ a: number; b: number }, { value: number }>;
}>(
  protobuf.parse(`
    syntax = "proto3";
    package calc;
    service Calculator {
      rpc Add (BinaryOp) returns (Result);
      rpc Divide (BinaryOp) returns (Result);
    }
    message BinaryOp { int32 a = 1; int32 b = 2; }
    message Result { int32 value = 1; }
  `).root,
  "calc.Calculator",
);

const dir = mkdtempSync(join(tmpdir(), "ipc-otel-"));
try {
  const listener = await unix.listen(join(dir, "calc.sock"));
  const server = serve(listener, Calculator, {
    add: ({ a, b }) => ({ value: a + b }),
    divide: ({ a, b }) => {
      if (b === 0) throw new RpcError("INVALID_ARGUMENT", `${a} / 0 is not a number`);
      return { value: Math.trunc(a / b) };
    },
  });
  const client = createClient(Calculator, await unix.connect(listener.address, { timeout: 10_000 }));
  for (const [a, b] of [
    [1, 2],
    [20, 22],
    [300, 400],
  ] as const) {
    console.log(`Add(${a}, ${b}) = ${(await client.add({ a, b })).value}`);
  }
  console.log(`Divide(84, 2) = ${(await client.divide({ a: 84, b: 2 })).value}`);
  await client.divide({ a: 1, b: 0 }).catch((error: RpcError) => console.log(`Divide(1, 0) failed: ${error.status}`));
  await client.close();
  await server.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// 4. What the SDK exported.
stopInstrumenting();
console.log("\nspans:");
for (const span of spanExporter.getFinishedSpans()) {
  const [seconds, nanos] = span.duration;
  const ms = seconds * 1000 + nanos / 1e6;
  const status = span.status.code === SpanStatusCode.ERROR ? `ERROR (${span.status.message})` : "OK";
  const kind = span.kind === SpanKind.CLIENT ? "client" : "server";
  console.log(`  ${span.name} ${kind} ${status} ${ms.toFixed(2)} ms rpc.ipc.status=${String(span.attributes["rpc.ipc.status"])}`);
}
await meterProvider.forceFlush();
console.log("\nmetrics:");
const exported = metricExporter.getMetrics().at(-1);
for (const metric of exported?.scopeMetrics.flatMap((scope) => scope.metrics) ?? []) {
  for (const point of (metric as HistogramMetricData).dataPoints) {
    const { count, sum = 0 } = point.value;
    const labels = `rpc.method=${String(point.attributes["rpc.method"])},rpc.ipc.status=${String(point.attributes["rpc.ipc.status"])}`;
    console.log(`  ${metric.descriptor.name}{${labels}} count=${count} mean=${(sum / count).toFixed(2)} ${metric.descriptor.unit}`);
  }
}
await meterProvider.shutdown();
