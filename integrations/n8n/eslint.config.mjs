// n8n's own linter for community nodes (eslint-plugin-n8n-nodes-base), as in
// n8n's node starter: package.json, credentials and nodes each get their set.
import tsParser from '@typescript-eslint/parser';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';

const plugins = { 'n8n-nodes-base': n8nNodesBase };

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', 'scripts/**', '*.mjs'] },
	{
		files: ['package.json'],
		// As in n8n's starter: the TypeScript parser reads the JSON as an object expression.
		languageOptions: { parser: tsParser, parserOptions: { extraFileExtensions: ['.json'] } },
		plugins,
		rules: {
			...n8nNodesBase.configs.community.rules,
			// The package is published from this repository, not from n8n's starter template.
			'n8n-nodes-base/community-package-json-name-still-default': 'off',
			// The package carries the project's licence (Apache-2.0), not the starter's MIT.
			'n8n-nodes-base/community-package-json-license-not-default': 'off',
		},
	},
	{
		files: ['credentials/**/*.ts'],
		languageOptions: { parser: tsParser, parserOptions: { sourceType: 'module' } },
		plugins,
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			// Applies to n8n's main repository only (n8n's starter turns it off).
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		languageOptions: { parser: tsParser, parserOptions: { sourceType: 'module' } },
		plugins,
		rules: n8nNodesBase.configs.nodes.rules,
	},
];
