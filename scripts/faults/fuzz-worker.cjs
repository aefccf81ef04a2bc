// Worker thread of the fuzz test: parses and de-identifies one buffer per message, so the main
// thread can time each file and terminate this thread when one never returns.
const { parentPort } = require('node:worker_threads');
require('tsx/cjs/api').register();
const { parseDicom } = require('../../src/dicom/parse.ts');
const { deidentify } = require('../../src/deid/deidentify.ts');
const { loadDeidProfile } = require('../../src/deid/profile-config.ts');

const profile = loadDeidProfile();
const options = {
  uidSecret: Buffer.from('fuzz-secret'),
  patientPseudonym: 'FUZZ0001',
  dateOffsetDays: 17,
  profile,
};

function timed(step) {
  const started = performance.now();
  try {
    return { outcome: step(), ms: performance.now() - started };
  } catch (error) {
    return { outcome: 'throw', error: String(error && error.message), ms: performance.now() - started };
  }
}

parentPort.on('message', ({ bytes }) => {
  const buffer = Buffer.from(bytes);
  const parse = timed(() => parseDicom(buffer).outcome);
  const deid =
    parse.outcome === 'import' ? timed(() => deidentify(buffer, options).bytes.length && 'written') : undefined;
  parentPort.postMessage({ parse, deid });
});
