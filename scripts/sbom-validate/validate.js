#!/usr/bin/env node
// Validates SBOMs against the official JSON schemas of CycloneDX 1.6 and SPDX 2.3,
// vendored beside this file (schemas/, origins in schemas/README.md), with Ajv: an
// implementation independent of the Go libraries that write slsabox's SBOMs.
//
//   node scripts/sbom-validate/validate.js FILE...
//
// A FILE is a bare SBOM document, an in-toto Statement whose predicate is one, a DSSE
// envelope of such a Statement, or a Sigstore bundle (v0.1 to v0.3 JSON) holding that
// envelope. The format is read from the document: bomFormat "CycloneDX" with
// specVersion "1.6", or spdxVersion "SPDX-2.3"; any other is refused. A Statement's
// predicateType must name the same format (https://cyclonedx.org/bom,
// https://spdx.dev/Document).
//
// Exit status: 0 when every FILE is valid; 1 when one is not (each error is printed
// with the JSON path of the value at fault); 2 on a usage error, a FILE that cannot
// be read, or a vendored schema that does not match its sha256 in schemas/SHA256SUMS.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const schemaDir = path.join(__dirname, 'schemas');
const maxErrors = 50; // per file; a wrong type deep in a oneOf can cascade into hundreds

// The in-toto predicate types of the two formats, as cosign attest --type cyclonedx
// and --type spdxjson write them.
const predicateTypes = {
  cyclonedx: 'https://cyclonedx.org/bom',
  spdx: 'https://spdx.dev/Document',
};
const statementTypes = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];
const inTotoPayloadType = 'application/vnd.in-toto+json';

// SetupError is a fault of the validator, not of a document: exit 2.
class SetupError extends Error {}

// readSchemas reads every file that schemas/SHA256SUMS lists and checks its sha256:
// a schema edited by hand, or replaced, would make every check meaningless.
function readSchemas() {
  const sums = path.join(schemaDir, 'SHA256SUMS');
  let text;
  try {
    text = fs.readFileSync(sums, 'utf8');
  } catch (e) {
    throw new SetupError(`reading ${sums}: ${e.message}`);
  }
  const schemas = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
    if (!m) throw new SetupError(`${sums}: not a sha256sum line: ${JSON.stringify(line)}`);
    const [, want, name] = m;
    const file = path.join(schemaDir, name);
    const data = fs.readFileSync(file);
    const got = crypto.createHash('sha256').update(data).digest('hex');
    if (got !== want) {
      throw new SetupError(`schema ${name} has sha256 ${got}, but SHA256SUMS says ${want}: ` +
        'restore it from the origin that schemas/README.md names (git checkout scripts/sbom-validate/schemas)');
    }
    schemas[name] = JSON.parse(data.toString('utf8'));
  }
  for (const name of ['cyclonedx-1.6/bom-1.6.schema.json', 'cyclonedx-1.6/spdx.schema.json',
    'cyclonedx-1.6/jsf-0.82.schema.json', 'spdx-2.3/spdx-schema.json']) {
    if (!schemas[name]) throw new SetupError(`${sums} does not list ${name}`);
  }
  return schemas;
}

// newAjv returns an Ajv in strict mode (an unknown keyword or format in a schema is an
// error, not silently ignored) that checks every format the two schemas use.
function newAjv() {
  let Ajv, addFormats, fullFormats;
  try {
    Ajv = require('ajv');
    addFormats = require('ajv-formats');
    ({ fullFormats } = require('ajv-formats/dist/formats'));
  } catch (e) {
    throw new SetupError(`${e.message.split('\n')[0]}: install the validator's packages with scripts/tools.sh sbom-validate`);
  }
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, validateFormats: true });
  addFormats(ajv, { mode: 'full' });
  // RFC 3987 section 3.1: an IRI maps to a URI by percent-encoding its non-ASCII
  // characters as UTF-8; the IRI is valid when that URI is. ajv-formats has no IRI
  // formats, and CycloneDX uses iri-reference for every URL.
  ajv.addFormat('iri-reference', (s) => {
    let uri;
    try {
      uri = s.replace(/[^\x00-\x7f]+/gu, encodeURIComponent);
    } catch {
      return false; // a lone surrogate
    }
    return fullFormats['uri-reference'].test(uri);
  });
  // RFC 6531: an email address whose local part and domain may hold non-ASCII
  // characters; checked as an ASCII address with each such character as a letter.
  ajv.addFormat('idn-email', (s) => fullFormats.email.test(s.replace(/[^\x00-\x7f]/gu, 'a')));
  // CycloneDX's annotation of enum values (their descriptions); validates nothing.
  ajv.addKeyword({ keyword: 'meta:enum', schemaType: 'object' });
  return ajv;
}

// validators returns the two formats' validators, each compiled on first use: the
// CycloneDX schema takes most of a second of CPU to compile.
function validators(schemas) {
  const lazy = (name, compile) => {
    let fn;
    return {
      name,
      get validate() {
        try {
          return fn || (fn = compile());
        } catch (e) {
          throw e instanceof SetupError ? e : new SetupError(`compiling the ${name} schema: ${e.message}`);
        }
      },
    };
  };
  return {
    cyclonedx: lazy('CycloneDX 1.6', () => {
      const ajv = newAjv();
      ajv.addSchema(schemas['cyclonedx-1.6/spdx.schema.json']);
      ajv.addSchema(schemas['cyclonedx-1.6/jsf-0.82.schema.json']);
      return ajv.compile(schemas['cyclonedx-1.6/bom-1.6.schema.json']);
    }),
    spdx: lazy('SPDX 2.3', () => newAjv().compile(schemas['spdx-2.3/spdx-schema.json'])),
  };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// unwrap finds the SBOM in doc: returns {sbom, where, predicateType} where "where" says
// how it was reached (for messages), or throws an Error that says what is wrong.
function unwrap(doc) {
  if (!isObject(doc)) throw new Error('the document is not a JSON object');
  let where = '';
  if (typeof doc.mediaType === 'string' && doc.mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
    if (!isObject(doc.dsseEnvelope)) {
      throw new Error(`a Sigstore bundle (${doc.mediaType}) without a dsseEnvelope: an SBOM attestation is a DSSE envelope`);
    }
    doc = doc.dsseEnvelope;
    where = 'dsseEnvelope.';
  }
  if ('payloadType' in doc && 'payload' in doc) {
    if (doc.payloadType !== inTotoPayloadType) {
      throw new Error(`${where}payloadType is ${JSON.stringify(doc.payloadType)}, not ${inTotoPayloadType}`);
    }
    if (typeof doc.payload !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(doc.payload)) {
      throw new Error(`${where}payload is not base64`);
    }
    const text = Buffer.from(doc.payload, 'base64').toString('utf8');
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`${where}payload (base64) is not JSON: ${e.message}`);
    }
    where += 'payload (base64) ';
    if (!isObject(doc)) throw new Error(`${where}is not a JSON object`);
  }
  if (typeof doc._type === 'string') {
    if (!statementTypes.includes(doc._type)) {
      throw new Error(`${where}_type is ${JSON.stringify(doc._type)}, not an in-toto Statement (${statementTypes.join(', ')})`);
    }
    if (!isObject(doc.predicate)) throw new Error(`${where}in-toto Statement without a predicate object`);
    return { sbom: doc.predicate, where: `${where}$.predicate`, predicateType: doc.predicateType };
  }
  if (where !== '') throw new Error(`${where}is not an in-toto Statement (no _type)`);
  return { sbom: doc, where: '$', predicateType: undefined };
}

// detect returns "cyclonedx" or "spdx", or throws when the document is neither
// CycloneDX 1.6 nor SPDX 2.3.
function detect(sbom) {
  if ('bomFormat' in sbom) {
    if (sbom.bomFormat !== 'CycloneDX') throw new Error(`bomFormat is ${JSON.stringify(sbom.bomFormat)}, not "CycloneDX"`);
    if (sbom.specVersion !== '1.6') {
      throw new Error(`CycloneDX specVersion ${JSON.stringify(sbom.specVersion)}: only 1.6 is checked here`);
    }
    return 'cyclonedx';
  }
  if ('spdxVersion' in sbom) {
    if (sbom.spdxVersion !== 'SPDX-2.3') {
      throw new Error(`spdxVersion ${JSON.stringify(sbom.spdxVersion)}: only SPDX-2.3 is checked here`);
    }
    return 'spdx';
  }
  throw new Error('neither a CycloneDX BOM (bomFormat) nor an SPDX document (spdxVersion)');
}

// jsonPath turns Ajv's JSON Pointer into a JSONPath below base: /components/0/name
// becomes $.predicate.components[0].name.
function jsonPath(base, pointer) {
  if (pointer === '') return base;
  let p = base;
  for (const raw of pointer.slice(1).split('/')) {
    const tok = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^(0|[1-9][0-9]*)$/.test(tok)) p += `[${tok}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(tok)) p += `.${tok}`;
    else p += `[${JSON.stringify(tok)}]`;
  }
  return p;
}

function describe(err) {
  let msg = err.message;
  if (err.keyword === 'additionalProperties') msg += `: ${JSON.stringify(err.params.additionalProperty)}`;
  if (err.keyword === 'enum') {
    const allowed = err.params.allowedValues.map((v) => JSON.stringify(v));
    msg += `: ${allowed.slice(0, 8).join(', ')}${allowed.length > 8 ? `, ... (${allowed.length} values)` : ''}`;
  }
  if (err.keyword === 'const') msg += `: ${JSON.stringify(err.params.allowedValue)}`;
  return `${msg} (schema ${err.schemaPath})`;
}

// check validates one file and returns its error lines (none when valid) and a
// one-line summary.
function check(file, formats) {
  let text, doc;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SetupError(`reading ${file}: ${e.message}`);
  }
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { errors: [`not JSON: ${e.message}`] };
  }
  let found, kind;
  try {
    found = unwrap(doc);
    kind = detect(found.sbom);
  } catch (e) {
    return { errors: [e.message] };
  }
  const v = formats[kind];
  const errors = [];
  if (found.predicateType !== undefined && found.predicateType !== predicateTypes[kind]) {
    errors.push(`predicateType is ${JSON.stringify(found.predicateType)}, but the predicate is ${v.name} (${predicateTypes[kind]})`);
  }
  const validate = v.validate;
  if (!validate(found.sbom)) {
    for (const err of validate.errors.slice(0, maxErrors)) {
      errors.push(`${jsonPath(found.where, err.instancePath)}: ${describe(err)}`);
    }
    if (validate.errors.length > maxErrors) errors.push(`... and ${validate.errors.length - maxErrors} more errors`);
  }
  const via = found.where === '$' ? '' : ` at ${found.where}`;
  return { errors, summary: `${v.name}${via}` };
}

function main(argv) {
  const files = argv.slice(2);
  if (files.length === 0 || files.includes('-h') || files.includes('--help')) {
    process.stderr.write('usage: node scripts/sbom-validate/validate.js FILE...\n' +
      'Validates CycloneDX 1.6 and SPDX 2.3 JSON SBOMs (bare, in an in-toto Statement, a DSSE envelope or\n' +
      'a Sigstore bundle) against the official schemas. Exit 0: all valid; 1: one is not; 2: usage or set-up error.\n');
    return files.length === 0 ? 2 : 0;
  }
  let formats;
  try {
    formats = validators(readSchemas());
    newAjv(); // the packages are installed
  } catch (e) {
    process.stderr.write(`sbom-validate: error: ${e.message}\n`);
    return 2;
  }
  let rc = 0;
  for (const file of files) {
    let errors, summary;
    try {
      ({ errors, summary } = check(file, formats));
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      process.stderr.write(`sbom-validate: error: ${e.message}\n`);
      return 2;
    }
    if (errors.length === 0) {
      process.stdout.write(`${file}: valid ${summary}\n`);
      continue;
    }
    rc = 1;
    process.stdout.write(`${file}: invalid${summary ? ` ${summary}` : ''}\n`);
    for (const e of errors) process.stdout.write(`  ${e}\n`);
  }
  return rc;
}

process.exitCode = main(process.argv);
