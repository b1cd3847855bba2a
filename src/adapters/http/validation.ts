import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Problem } from '../../core/common/problem';

function flatten(errors: ValidationError[], parent = ''): Array<{ field: string; reason: string }> {
  return errors.flatMap((error) => {
    // A stray member may be named "" (JSON allows it); the field must still say where.
    const property = error.property === '' ? '""' : error.property;
    const field = parent ? `${parent}.${property}` : property;
    const own = Object.values(error.constraints ?? {}).map((reason) => ({ field, reason }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Body and query validation that answers with a problem naming every offending field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const problems = flatten(errors);
      const first = problems[0] ?? { field: 'body', reason: 'is invalid' };
      return new Problem(400, 'Invalid request', problems.map((p) => `${p.field}: ${p.reason}`).join('; '), {
        field: first.field,
        errors: problems,
      });
    },
  });
}
