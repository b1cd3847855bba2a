// Lint for what the compiler does not catch; formatting is Prettier's (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'operators/dist/', 'node_modules/', 'src/adapters/slurm/rest/generated/', 'src/adapters/chain/generated/', 'src/core/chain/virtengine-enums.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Narrowed `any` is used where JSON from SLURM or the chain is read field by field.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
);
