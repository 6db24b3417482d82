import { BrokerTargets, brokerUrls } from './urls';

describe('broker URL lists', () => {
  it('splits a comma-separated list and ignores spaces', () => {
    expect(brokerUrls(' amqp://a:5672 ,amqp://b:5673')).toEqual(['amqp://a:5672', 'amqp://b:5673']);
    expect(() => brokerUrls(' , ')).toThrow(/no broker URL/);
  });

  it('hands amqplib the current node and moves to the next one on rotate', () => {
    const t = new BrokerTargets(
      brokerUrls('amqp://u%40x:p%2Fw@127.0.0.1:5672/v%2F1?heartbeat=5,amqp://127.0.0.1:5673'),
    );
    const target = t.target;
    const seen = new Set<number | undefined>();
    for (let i = 0; i < t.size; i++) {
      seen.add(target.port);
      if (target.port === 5672) {
        expect(target).toMatchObject({
          protocol: 'amqp',
          hostname: '127.0.0.1',
          username: 'u@x',
          password: 'p/w',
          vhost: 'v%2F1',
          heartbeat: 5,
        });
      } else {
        expect(target).toMatchObject({ username: 'guest', password: 'guest', vhost: '/' });
      }
      t.rotate();
    }
    expect([...seen].sort()).toEqual([5672, 5673]);
  });
});
