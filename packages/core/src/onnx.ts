import type { ModelFile } from './model-file';

/*
 * A model as an ONNX graph: probability = Sigmoid(MatMul(X, W) + B), X a [N, n] double tensor of raw
 * (unscaled) features. Any ONNX runtime scores it (standard ai.onnx operators only, opset 13).
 *
 * Why encode protobuf here instead of depending on an ONNX/protobuf package: the graph is fixed and
 * needs six message types; their wire format (varints and length-delimited fields, field numbers
 * from onnx/onnx.proto, cited at each message) is a few lines, while protobufjs plus generated ONNX
 * bindings would add megabytes to every image. The test loads the file in onnxruntime-node.
 *
 * Doubles, not floats: scores then equal soda predict's to ~1e−15, not float32's ~1e−7.
 */

const DOUBLE = 11; // TensorProto.DataType.DOUBLE
const IR_VERSION = 8;
const OPSET = 13;

/** Protobuf writer: fields appended as (tag, payload); messages nest as length-delimited bytes. */
class Pb {
  private readonly parts: Buffer[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n; // two's complement, as protobuf encodes negative int64
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      out.push(b);
    } while (x !== 0n);
    this.parts.push(Buffer.from(out));
  }

  int(field: number, v: number): this {
    this.varint((field << 3) | 0);
    this.varint(v);
    return this;
  }

  bytes(field: number, b: Buffer): this {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  msg(field: number, m: Pb): this {
    return this.bytes(field, m.done());
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian doubles). */
function tensor(name: string, dims: number[], values: Float64Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, DOUBLE).str(8, name);
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => raw.writeDoubleLE(v, i * 8));
  return t.bytes(9, raw);
}

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 } } } }. */
function valueInfo(name: string, dims: (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().str(2, d));
  const tensorType = new Pb().int(1, DOUBLE).msg(2, shape);
  return new Pb().str(1, name).msg(2, new Pb().msg(1, tensorType));
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4. */
function node(op: string, inputs: string[], output: string): Pb {
  const n = new Pb();
  for (const i of inputs) n.str(1, i);
  return n.str(2, output).str(3, `${op.toLowerCase()}_${output}`).str(4, op);
}

/** Input and output names of the exported graph. */
export const ONNX_INPUT = 'X';
export const ONNX_OUTPUT = 'probability';

/** The ONNX ModelProto bytes of a model: input X [N, n] (double), output probability [N, 1]. */
export function onnxOf(model: ModelFile, producerVersion = ''): Buffer {
  const n = model.n;
  const W = new Float64Array(n);
  for (let t = 0; t < model.idx.length; t++) W[model.idx[t]] = model.val[t];
  // GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12.
  const graph = new Pb()
    .msg(1, node('MatMul', [ONNX_INPUT, 'W'], 'z0'))
    .msg(1, node('Add', ['z0', 'B'], 'z'))
    .msg(1, node('Sigmoid', ['z'], ONNX_OUTPUT))
    .str(2, 'soda_logistic_regression')
    .msg(5, tensor('W', [n, 1], W))
    .msg(5, tensor('B', [1], Float64Array.of(model.intercept)))
    .str(10, `P(y = +1 | x) = sigmoid(x·W + B), x raw features (${model.dataName}); trained by SODA`)
    .msg(11, valueInfo(ONNX_INPUT, ['N', n]))
    .msg(12, valueInfo(ONNX_OUTPUT, ['N', 1]));
  // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8.
  return new Pb()
    .int(1, IR_VERSION)
    .str(2, 'soda')
    .str(3, producerVersion)
    .msg(7, graph)
    .msg(8, new Pb().str(1, '').int(2, OPSET))
    .done();
}
