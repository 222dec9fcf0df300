const Ajv2020 = require('ajv/dist/2020').default;
const s = require('/work/main/config/schema.json');
const ajv = new Ajv2020({ strict: true, allErrors: true });
try { ajv.compile(s); console.log('compiled'); } catch (e) { console.log('ERR', e.message); }
