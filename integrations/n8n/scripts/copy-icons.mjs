// tsc compiles only TypeScript; n8n loads each node's and credential's icon
// (file:switchboard.svg) from beside the compiled file.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const icon = join(root, 'nodes', 'shared', 'switchboard.svg');
for (const dir of ['credentials', 'nodes/Switchboard', 'nodes/SwitchboardTrigger']) {
	mkdirSync(join(root, 'dist', dir), { recursive: true });
	copyFileSync(icon, join(root, 'dist', dir, 'switchboard.svg'));
}
