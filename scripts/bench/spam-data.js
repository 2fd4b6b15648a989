/*
 * The spam corpus as LIBSVM with its rows shuffled once with a fixed seed (Rng(12)): the file the
 * benchmarks of issues 12 and 18 run on (bench-overhead.js, bench-master.js). Built once under `dir`.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function shuffledSpam(dir, bin) {
  fs.mkdirSync(dir, { recursive: true });
  const shuffled = path.join(dir, 'spam-shuffled.svm');
  if (fs.existsSync(shuffled)) return shuffled;
  const raw = path.join(dir, 'spam.svm');
  if (!fs.existsSync(raw)) {
    const r = spawnSync(process.execPath, [bin, 'data', 'spam', '--out', raw], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error('soda data spam failed');
  }
  const { Rng } = require('../../packages/core/dist');
  const lines = fs
    .readFileSync(raw, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const rng = new Rng(12);
  for (let i = lines.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  fs.writeFileSync(shuffled + '.tmp', lines.join('\n') + '\n');
  fs.renameSync(shuffled + '.tmp', shuffled);
  return shuffled;
}

module.exports = { shuffledSpam };
