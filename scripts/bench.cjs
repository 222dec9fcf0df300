// `make bench`: wall time, CPU time and peak memory of `node build/main.js`, each beside the
// process floor (`node -e 0`, timed in the same run), as ratios. Cases:
//   (a) one environment after a change (the Prefect image tag, alternating between two values)
//   (b) one environment with nothing changed
//   (c) all environments, nothing changed
//   (c') all environments, cold: no checked-object and no rendered-text cache
//   (d) 30 environments (copies of prod), cold
// The compiled validators and V8's code cache are warm throughout, as after any earlier run of
// the same build.
// It runs in a scratch copy of the project, so dist/ and config/ here are never touched.
// RUNS runs each (default 7).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const runs = Number(process.env.RUNS ?? 7);
const root = path.resolve(__dirname, '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-bench-'));
for (const entry of ['build', 'schemas', 'config', 'dist', 'cdk8s.yaml', 'package.json']) {
  fs.cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
}
fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
const prodConfig = path.join(scratch, 'config', 'prod.yaml');
const prodText = fs.readFileSync(prodConfig, 'utf8');

function once(command, args, prepare) {
  if (prepare) prepare();
  const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', command, ...args], { cwd: scratch, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  const [wall, user, system, kilobytes] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + system, rss: kilobytes / 1024 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function measure(command, args, prepare) {
  const samples = Array.from({ length: runs }, () => once(command, args, prepare));
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)), rss: median(samples.map((s) => s.rss)) };
}

const clearChecked = () => {
  for (const cache of ['checked', 'rendered']) fs.rmSync(path.join(scratch, 'build', cache), { recursive: true, force: true });
};
let tag = 0;
const bumpTag = () => fs.writeFileSync(prodConfig, prodText.replace(/tag: "[^"]+"/, `tag: "2099.1.${tag++ % 2}"`));

try {
  // Warm the compiled validators once, as any earlier synthesis would have.
  once('node', ['build/main.js']);
  const floor = measure('node', ['-e', '0']);
  const cases = [
    ['(a) one environment, image tag changed', ['--env', 'prod'], bumpTag],
    ['(b) one environment, nothing changed', ['--env', 'prod'], undefined],
    ['(c) all environments, nothing changed', [], undefined],
    ["(c') all environments, cold", [], clearChecked],
  ];
  const results = cases.map(([label, args, prepare]) => {
    once('node', ['build/main.js', ...args]);
    return [label, measure('node', ['build/main.js', ...args], prepare)];
  });
  fs.writeFileSync(prodConfig, prodText);
  for (let index = 1; index <= 30; index++) {
    const name = `bench${String(index).padStart(2, '0')}`;
    fs.writeFileSync(path.join(scratch, 'config', `${name}.yaml`), prodText.replace(/^environment: prod$/m, `environment: ${name}`));
  }
  results.push(['(d) 33 environments (30 more), cold', measure('node', ['build/main.js'], clearChecked)]);

  const line = (label, m) =>
    `${label.padEnd(42)} wall ${m.wall.toFixed(2)} s (${(m.wall / floor.wall).toFixed(1)}x)  cpu ${m.cpu.toFixed(2)} s (${(m.cpu / floor.cpu).toFixed(1)}x)  peak RSS ${m.rss.toFixed(0)} MiB`;
  console.log(`median of ${runs} runs each; ratios to the process floor measured in the same run`);
  console.log(line('floor: node -e 0', floor));
  for (const [label, m] of results) console.log(line(label, m));
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
