// onnxruntime-node checks tensors with `instanceof` against the outer realm's typed arrays;
// jest's sandbox has its own, so expose the outer ones to test code.
const { TestEnvironment } = require('jest-environment-node');

class OuterRealmTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'Float32Array',
      'Float64Array',
      'Int8Array',
      'Uint8Array',
      'Uint8ClampedArray',
      'Int16Array',
      'Uint16Array',
      'Int32Array',
      'Uint32Array',
      'BigInt64Array',
      'BigUint64Array',
      'ArrayBuffer',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}
module.exports = OuterRealmTypedArraysEnvironment;
