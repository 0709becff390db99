// The packed tarball loads the way n8n loads an installed community package:
// n8n-core's PackageDirectoryLoader reads its package.json "n8n" section,
// requires each node and credential and checks their descriptions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const require = createRequire(import.meta.url);
const root = resolve(new URL('.', import.meta.url).pathname, '..');
const home = mkdtempSync(join(tmpdir(), 'n8n-home-'));
process.env.N8N_USER_FOLDER = home;
process.env.N8N_LOG_LEVEL ??= 'silent';
const { PackageDirectoryLoader } = require('n8n-core');

const work = mkdtempSync(join(tmpdir(), 'n8n-pack-'));
after(() => {
	rmSync(work, { recursive: true, force: true });
	rmSync(home, { recursive: true, force: true });
});

test('npm pack gives a package n8n loads with both nodes and the credential', async () => {
	const tarball = execFileSync('npm', ['pack', '--pack-destination', work], {
		cwd: root,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'ignore'],
	})
		.trim()
		.split('\n')
		.pop();
	// n8n installs packages under node_modules/<name>; the nodes require n8n-workflow from there.
	const modules = join(work, 'node_modules');
	execFileSync('mkdir', ['-p', modules]);
	execFileSync('tar', ['-xzf', join(work, tarball), '-C', modules]);
	execFileSync('mv', [join(modules, 'package'), join(modules, 'n8n-nodes-switchboard')]);
	execFileSync('ln', ['-s', join(root, 'node_modules', 'n8n-workflow'), join(modules, 'n8n-workflow')]);
	const dir = join(modules, 'n8n-nodes-switchboard');

	const loader = new PackageDirectoryLoader(dir);
	await loader.loadAll();
	assert.equal(loader.packageName, 'n8n-nodes-switchboard');
	assert.deepEqual(Object.keys(loader.known.nodes).sort(), ['switchboard', 'switchboardTrigger']);
	assert.deepEqual(Object.keys(loader.known.credentials), ['switchboardApi']);
	const names = loader.types.nodes.map((n) => n.name).sort();
	assert.deepEqual(names, ['switchboard', 'switchboardTrigger']);
	// Every icon a description points at is in the package.
	for (const sub of ['nodes/Switchboard', 'nodes/SwitchboardTrigger', 'credentials']) {
		assert.ok(existsSync(join(dir, 'dist', sub, 'switchboard.svg')), sub);
	}
	assert.ok(readdirSync(dir).includes('README.md'));
});
