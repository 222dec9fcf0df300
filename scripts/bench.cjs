// Median wall time and peak memory of `node build/main.js` (all environments, then one), over
// RUNS runs each (default 7). Run with `make bench`, which builds the bundle first.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const runs = Number(process.env.RUNS ?? 7);
const hasTime = fs.existsSync('/usr/bin/time');

function measure(label, args) {
  const times = [];
  const memories = [];
  for (let run = 0; run < runs; run++) {
    const command = hasTime ? ['/usr/bin/time', ['-f', '%M', 'node', 'build/main.js', ...args]] : ['node', ['build/main.js', ...args]];
    const start = process.hrtime.bigint();
    const result = spawnSync(command[0], command[1], { encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) {
      console.error(result.stdout, result.stderr);
      throw new Error(`${label}: synthesis failed (exit ${result.status})`);
    }
    times.push(seconds);
    if (hasTime) memories.push(Number(result.stderr.trim().split('\n').pop()) / 1024);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const memory = hasTime ? `, peak RSS median ${median(memories).toFixed(0)} MiB` : '';
  console.log(`${label.padEnd(28)} median ${median(times).toFixed(3)} s over ${runs} runs (min ${Math.min(...times).toFixed(3)} s, max ${Math.max(...times).toFixed(3)} s)${memory}`);
}

measure('synth, all environments', []);
measure('synth, one environment (prod)', ['--env', 'prod']);
