// Prints offline-composer templates as JSON for bench/optimize_bench.py's fidelity pairs.
// Usage: npx tsx bench/optimize_templates.ts "a red fox" "a cup of coffee" …
import { composeTemplate } from '#template/composer/index';

const prompts = process.argv.slice(2);
const out = [];
for (const prompt of prompts) {
  const template = await composeTemplate({ prompt, seed: 0 });
  out.push({ prompt, svg: template.svg, elements: template.elements });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
