import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { Process, Processor, ProcessorDefinitionError } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';

@Processor('unregistered')
@Injectable()
class UnknownQueueProcessor {
  @Process('x')
  x() {}
}

@Processor('default')
@Injectable()
class FirstHandler {
  @Process('dup')
  one() {}
}

@Processor('default')
@Injectable()
class SecondHandler {
  @Process('dup')
  two() {}
}

@Processor('default')
@Injectable()
class NotAFunction {
  @Process('prop')
  handler: unknown = 42;
}

@Processor('default')
@Injectable()
class BadOptions {
  @Process('bad', { timeoutMs: -1 })
  bad() {}
}

// From plain JavaScript (ProcessorOptions has no concurrency in its type).
@Processor('default', { concurrency: 2 } as never)
@Injectable()
class ProcessorWideConcurrency {
  @Process('a')
  a() {}
}

@Processor('default')
@Injectable()
class MisspeltHandlerOption {
  @Process('b', { concurency: 2 } as never)
  b() {}
}

@Injectable()
class ForgotTheProcessor {
  @Process('confirm')
  confirm() {}

  @Process('cancel')
  cancel() {}
}

describe('@Processor / @Process bootstrap errors', () => {
  const pool = testPool();
  const schema = uniqueSchema();
  afterAll(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  const boot = (providers: any[]) => createQueueApp({ schema }, providers);

  it('refuses a processor of a queue that is not registered, naming the class', async () => {
    const err = await boot([UnknownQueueProcessor]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toContain('UnknownQueueProcessor');
    expect(err.message).toContain('"unregistered"');
  });

  it('refuses two handlers for the same queue and name, naming both', async () => {
    const err = await boot([FirstHandler, SecondHandler]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toContain('FirstHandler.one');
    expect(err.message).toContain('SecondHandler.two');
  });

  it('refuses a decorated member that is not a function, naming class and member', async () => {
    const err = await boot([NotAFunction]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toContain('NotAFunction.handler');
  });

  it('refuses @Process methods on a class without @Processor, naming the class, its methods and the fix', async () => {
    const err = await boot([ForgotTheProcessor]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toBe(
      'ForgotTheProcessor has @Process methods but no @Processor: confirm (@Process("confirm")), cancel (@Process("cancel")) would never run. ' +
        "Add @Processor('<queue>') to the class ForgotTheProcessor.",
    );
  });

  it('refuses concurrency on @Processor, saying where it belongs', async () => {
    const err = await boot([ProcessorWideConcurrency]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toBe(
      '@Processor on ProcessorWideConcurrency: "concurrency" is not a processor option; set it for the queue ' +
        '(QueueModule.forRoot({ queues: [{ name, concurrency }] })) or for one handler (@Process(name, { concurrency }))',
    );
  });

  it('a misspelt handler option gets "did you mean"', async () => {
    const err = await boot([MisspeltHandlerOption]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toBe('MisspeltHandlerOption.b: "concurency" is not a handler option; did you mean "concurrency"?');
  });

  it('refuses invalid handler options', async () => {
    const err = await boot([BadOptions]).catch((e) => e);
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toContain('BadOptions.bad');
    expect(err.message).toContain('timeoutMs');
  });
});
