! The adaptor that serves the legacy RINGLP routine: bind(C) model procedures with the shapes of
! maas_batch_fn / maas_sampler_fn, and a register_ring() that hosts them on a server.
module ring_model
  use, intrinsic :: iso_c_binding
  use demos_maas
  implicit none
  private
  public :: register_ring, ring_reference

  interface
     double precision function RINGLP(x, r0, w)
       double precision :: x(2), r0, w
     end function
  end interface

contains

  !> log p(x(:, i) | r0, w) for each point, calling the legacy routine.
  integer(c_int) function ring_log_density(x, n, d, theta, p, out, user_data) bind(C) result(status)
    integer(c_int64_t), value :: n, d, p
    real(c_double), intent(in) :: x(d, n), theta(p)
    real(c_double), intent(out) :: out(n)
    type(c_ptr), value :: user_data
    integer(c_int64_t) :: i
    status = 0
    if (d /= 2 .or. p /= 2) then
       call maas_callback_error('ring: expected d = 2 and 2 parameters')
       status = 2
       return
    end if
    if (theta(2) <= 0) then
       call maas_callback_error('ring: the width w must be positive')
       status = 3
       return
    end if
    do i = 1, n
       if (x(1, i) /= x(1, i) .or. x(2, i) /= x(2, i)) then
          call maas_callback_error('ring: x is not a number')
          status = 4
          return
       end if
       out(i) = RINGLP(x(:, i), theta(1), theta(2))
    end do
  end function ring_log_density

  !> Draws on the ring (radius r0 + w * noise) from a Park-Miller generator seeded by the chunk seed.
  integer(c_int) function ring_sampler(seed, n, d, theta, p, out, user_data) bind(C) result(status)
    integer(c_int64_t), value :: seed, n, d, p
    real(c_double), intent(in) :: theta(p)
    real(c_double), intent(out) :: out(d, n)
    type(c_ptr), value :: user_data
    integer(c_int64_t) :: state, i
    real(c_double) :: angle, noise
    real(c_double), parameter :: two_pi = 6.283185307179586_c_double
    state = mod(ibits(seed, 0, 31), 2147483646_c_int64_t) + 1
    do i = 1, n
       angle = two_pi * next_uniform(state)
       noise = next_uniform(state) + next_uniform(state) + next_uniform(state) - 1.5_c_double
       out(1, i) = (theta(1) + theta(2) * noise) * cos(angle)
       out(2, i) = (theta(1) + theta(2) * noise) * sin(angle)
    end do
    status = 0
  end function ring_sampler

  real(c_double) function next_uniform(state)
    integer(c_int64_t), intent(inout) :: state
    state = mod(16807_c_int64_t * state, 2147483647_c_int64_t)
    next_uniform = real(state, c_double) / 2147483647.0_c_double
  end function next_uniform

  !> Hosts the ring model (parameters r0 = 2, w = 0.5) as `name`; serial because legacy code may keep state.
  integer function register_ring(server, name) result(status)
    type(maas_server), intent(in) :: server
    character(len=*), intent(in) :: name
    type(maas_model_callbacks) :: callbacks
    callbacks%log_density = c_funloc(ring_log_density)
    callbacks%sampler = c_funloc(ring_sampler)
    status = maas_server_register(server, '{"name": "' // name // '", "input_dim": 2, "version": "1977.1", ' // &
         '"description": "legacy FORTRAN 77 ring density", "parameters": [' // &
         '{"name": "r0", "default": 2.0}, {"name": "w", "default": 0.5, "lower": 1e-12}]}', callbacks, MAAS_MODEL_SERIAL)
  end function register_ring

  !> The model evaluated natively (no MaaS) at the default parameters.
  subroutine ring_reference(x, logp)
    real(c_double), intent(in) :: x(:, :)
    real(c_double), intent(out) :: logp(:)
    integer :: i
    do i = 1, size(x, 2)
       logp(i) = RINGLP(x(:, i), 2.0d0, 0.5d0)
    end do
  end subroutine ring_reference
end module ring_model
