// `traceless validate` on a YAML flow checks what it will say and play: fixed prompt ids in
// every language (catalogue or the flow's own overlay), and played files that must exist
// and decode. Each problem at its file:line:col.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from '../../src/flow/commands.ts';
import { writeOverlay, writeWav } from './wav-file.ts';

const pinCheck = new URL('./fixtures/pin-check.yaml', import.meta.url).pathname;
/** The prompt ids pin-check.yaml says, none of which are in the shipped catalogue. */
const PIN_CHECK_PROMPTS = ['greeting', 'account.enter', 'pin.enter', 'pin.wrong', 'balance.is'];

function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'validate-audio-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('prompt ids that are in neither catalogue are reported where they are written', async () => {
  const result = await validateCommand(pinCheck);
  assert.equal(result.exitCode, 2);
  const notIn = (where: string, id: string) => `${pinCheck}:${where}: prompt '${id}' is not in the en-US or es-US catalogue (nor a prompt overlay) [FLOW_UNKNOWN_PROMPT]`;
  assert.deepEqual(result.output.split('\n'), [
    notIn('5:10', 'greeting'),
    notIn('7:23', 'account.enter'),
    notIn('9:29', 'pin.enter'),
    notIn('22:10', 'pin.wrong'),
    notIn('25:21', 'balance.is'),
  ]);
});

test("a flow's own prompts in an overlay directory make it valid; one language missing is named", async () => {
  await inTempDir(async (dir) => {
    writeOverlay(join(dir, 'full'), PIN_CHECK_PROMPTS);
    assert.deepEqual(await validateCommand(pinCheck, { prompts: [join(dir, 'full')] }), { exitCode: 0, output: `${pinCheck}: ok` });

    writeOverlay(join(dir, 'english'), PIN_CHECK_PROMPTS, ['en-US']);
    const half = await validateCommand(pinCheck, { prompts: [join(dir, 'english')] });
    assert.equal(half.exitCode, 2);
    assert.equal(half.output.split('\n').length, 5);
    assert.match(half.output.split('\n')[0]!, /:5:10: prompt 'greeting' is not in the es-US catalogue \(nor a prompt overlay\) \[FLOW_UNKNOWN_PROMPT\]$/);

    assert.deepEqual(await validateCommand(pinCheck, { prompts: [join(dir, 'nowhere')] }), {
      exitCode: 2,
      output: `${join(dir, 'nowhere')}: not a prompt overlay directory (<dir>/<lang>/<id>.wav)`,
    });
  });
});

test('catalogue ids pass; a part pinned to one language is checked in that language only; templates are left to run time', async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, 'flow.yaml');
    writeFileSync(
      file,
      [
        'name: langs',
        'steps:',
        '  - menu: { prompt: agent.transfer, options: { "1": pick }, into: choice, invalidPrompt: error.apology }',
        '  - id: pick',
        '    say: [{ prompt: "picked.${choice}" }, { prompt: only.english, lang: en-US }]',
        '',
      ].join('\n'),
    );
    writeOverlay(join(dir, 'prompts'), ['only.english'], ['en-US']);
    assert.deepEqual(await validateCommand(file, { prompts: [join(dir, 'prompts')] }), { exitCode: 0, output: `${file}: ok` });
    const without = await validateCommand(file);
    assert.equal(without.output, `${file}:5:53: prompt 'only.english' is not in the en-US catalogue (nor a prompt overlay) [FLOW_UNKNOWN_PROMPT]`);
  });
});

test('a played file that does not exist or is not a WAV is reported; a good one (relative to the flow) passes', async () => {
  await inTempDir(async (dir) => {
    writeWav(join(dir, 'audio', 'bye.wav'));
    writeFileSync(join(dir, 'audio', 'notes.wav'), 'not audio at all');
    const file = join(dir, 'flow.yaml');
    writeFileSync(
      file,
      [
        'name: files',
        'steps:',
        '  - play: audio/bye.wav',
        '  - play: audio/missing.wav',
        '  - say: [{ file: audio/notes.wav }]',
        `  - play: ${join(dir, 'audio', 'bye.wav')}`,
        '',
      ].join('\n'),
    );
    const result = await validateCommand(file);
    assert.equal(result.exitCode, 2);
    const lines = result.output.split('\n');
    assert.equal(lines.length, 2, result.output);
    assert.match(lines[0]!, /flow\.yaml:4:11: cannot play audio\/missing\.wav: .*missing\.wav: ENOENT \(WAV_UNREADABLE\) \[FLOW_AUDIO_FILE\]$/);
    assert.match(lines[1]!, /flow\.yaml:5:19: cannot play audio\/notes\.wav: .*not a RIFF\/WAVE file \(WAV_NOT_RIFF\) \[FLOW_AUDIO_FILE\]$/);
  });
});
