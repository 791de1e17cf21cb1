# DemosMaas tests: a Julia-served model in its own process, the Julia client against it over tcp and
# pipe, and the error paths across the boundary.   julia --project=. -e 'using Pkg; Pkg.test()'
using DemosMaas
using Test

include("model_functions.jl")

function start_server()
    dir = mktempdir()
    script = joinpath(@__DIR__, "served_model.jl")
    project = dirname(@__DIR__)
    process = open(`$(Base.julia_cmd()) --project=$project $script pipe://$dir/jl.sock tcp://127.0.0.1:0`, "r")
    line = readline(process)
    startswith(line, "listening") || error("server did not start: $line")
    process, split(line)[2:end]
end

process, uris = start_server()
try
    @testset "DemosMaas" begin
        @test count(==('.'), DemosMaas.version()) == 2

        for uri in uris
            @testset "over $(split(uri, ':')[1])" begin
                client = Client(uri; timeout=30)
                m = model(client, "jlnormal")
                @test m.input_dim == 2
                x = randn(2, 1000)
                θ = [0.0, 0.0, 1.0, 1.0]
                @test isapprox(log_density(m, x), normal_logp(x, θ); rtol=1e-12)
                @test isapprox(m(x), normal_logp(x, θ); rtol=1e-12)
                θ2 = [1.0, -1.0, 2.0, 0.5]
                @test isapprox(log_density(m, x; theta=θ2), normal_logp(x, θ2); rtol=1e-12)
                @test isapprox(gradient(m, x), normal_grad(x, θ); rtol=1e-12)

                a = sample(m, 500; seed=3)
                @test size(a) == (2, 500)
                @test a == sample(m, 500; seed=3)
                @test a != sample(m, 500; seed=4)

                update_parameter!(m, "mu", [0.5, 0.5])
                @test parameter(m, "mu") == [0.5, 0.5]
                update_parameters!(m, "mu" => [0.0, 0.0])
                @test occursin("\"version\"", parameters(m))

                # bad input across the boundary
                e = try log_density(m, randn(3, 4)); nothing catch err; err end
                @test e isa MaasError && e.status == "InvalidArgument"
                e = try model(client, "nope"); nothing catch err; err end
                @test e isa MaasError && e.status == "NotFound"
                e = try update_parameter!(m, "nope", [1.0]); nothing catch err; err end
                @test e isa MaasError && e.code == 1
                f = model(client, "failing")
                e = try log_density(f, [-1.0]); nothing catch err; err end
                @test e isa MaasError && e.status == "ModelError" && occursin("negative x is outside the model", e.message)
                @test log_density(f, [2.0]) == [2.0]  # the server lives on

                raw = client.handle
                close(client)
                e = try log_density(m, x); nothing catch err; err end
                @test e isa MaasError && e.status == "InvalidArgument"
                @test ccall(DemosMaas.sym(:maas_client_close), Cint, (Ptr{Cvoid},), raw) == 1
                @test occursin("closed", unsafe_string(ccall(DemosMaas.sym(:maas_last_error), Cstring, ())))
            end
        end

        @testset "handles and connections" begin
            @test ccall(DemosMaas.sym(:maas_client_close), Cint, (Ptr{Cvoid},), C_NULL) == 1
            @test ccall(DemosMaas.sym(:maas_server_start), Cint, (Ptr{Cvoid},), Ptr{Cvoid}(0xbeef0)) == 1
            e = try Client("pipe:///tmp/demos-maas-julia-nobody.sock"; connect_timeout=2); nothing catch err; err end
            @test e isa MaasError && e.status == "Unavailable"
            e = try Server(log_level="loud"); nothing catch err; err end
            @test e isa MaasError && e.status == "InvalidArgument"
        end
    end
finally
    kill(process)
end
