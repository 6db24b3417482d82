/**
 * `npm run start:cluster` runs several instances of one service under labels (`gateway-2`): each must
 * start that service's entry point, not a folder named after its label.
 */
import { join } from 'node:path';
import { Supervised } from '../../scripts/lib/services';

const root = join(__dirname, '..', '..');

it('starts the service an instance label stands for', () => {
  const gw = new Supervised(root, '/nonexistent', { name: 'gateway-2', service: 'gateway', port: 1, env: {} });
  expect(gw.command().args).toContain(join(root, 'services', 'gateway', 'src', 'main.ts'));
  expect(gw.exists()).toBe(true);
  const accounts = new Supervised(root, '/nonexistent', { name: 'accounts', port: 1, env: {} });
  expect(accounts.command().args).toContain(join(root, 'services', 'accounts', 'src', 'main.ts'));
});
